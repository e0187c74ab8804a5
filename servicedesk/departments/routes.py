"""The zone's departments and who works in them; a handler sees only their own department."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from servicedesk.departments import bp
from servicedesk.extensions import db
from servicedesk.models import Department, Role, User
from servicedesk.security import ensure_department_visible, signed_in, visible_department_ids


def handlers_of(department: Department) -> list[User]:
    """The department's active handlers, the head first (members must be loaded)."""
    handlers = [m for m in department.members if m.active and m.has_role(Role.HANDLER)]
    return sorted(handlers, key=lambda u: (not u.is_department_head, u.display_name, u.id))


@bp.route("/")
@signed_in
def index() -> str:
    statement = (select(Department)
                 .options(selectinload(Department.members))
                 .order_by(Department.active.desc(), Department.id))
    visible = visible_department_ids(current_user)
    if visible is not None:
        statement = statement.where(Department.id.in_(visible))
    departments = db.session.scalars(statement).all()
    return render_template("departments/index.html", departments=departments, handlers_of=handlers_of)


@bp.route("/<int:department_id>")
@signed_in
def show(department_id: int) -> str:
    department = db.get_or_404(Department, department_id)
    ensure_department_visible(current_user, [department.id])
    return render_template("departments/show.html", department=department,
                           handlers=handlers_of(department))
