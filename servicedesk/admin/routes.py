"""The administrator's pages: users, departments, categories, API tokens and the activity log.

Every write: the form validates, one operations call, commit, flash, redirect. A refusal puts its
messages on the form's fields and saves nothing; a stale version is refused with a message.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response

from servicedesk.admin import activity, bp, operations
from servicedesk.admin.forms import (
    NONE,
    ActivityFilterForm,
    ApiTokenForm,
    CategoryCreateForm,
    CategoryEditForm,
    DepartmentCreateForm,
    DepartmentEditForm,
    ResetPasswordForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    VersionOnlyForm,
)
from servicedesk.admin.operations import Refused
from servicedesk.audit import StaleEdit
from servicedesk.auth.operations import (
    PasswordRejected,
    count_live_sessions,
    issue_api_token,
    revoke_api_token,
)
from servicedesk.extensions import db
from servicedesk.forms import show_refusal
from servicedesk.models import ApiToken, AuditEvent, Category, Department, Role, User, UserRole
from servicedesk.pagination import paginate
from servicedesk.security import roles_required

PER_PAGE = 50
#: raised when someone saved the record between our check and our write
STALE = (StaleEdit, StaleDataError)


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _acting_user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _stale(what: str) -> None:
    db.session.rollback()
    flash(_("Someone else changed %(what)s while you were editing it. Nothing was saved: "
            "the form now shows the current values, make your changes again.", what=what), "warning")


def _department_choices(including: int | None = None) -> list[tuple[int, str]]:
    """Active departments, and the one a user belongs to even if it has been deactivated."""
    statement = select(Department.id, Department.name, Department.active).order_by(Department.id)
    statement = statement.where(or_(Department.active.is_(True), Department.id == including))
    return [(row.id, row.name if row.active else _("%(name)s (inactive)", name=row.name))
            for row in db.session.execute(statement)]


def _department(department_id: int | None) -> Department | None:
    return db.session.get(Department, department_id) if department_id else None


def _is_handler() -> Any:
    return User.role_rows.any(UserRole.role == Role.HANDLER.value)


# Users

@bp.route("/")
@roles_required(Role.ADMIN)
def index() -> Response:
    return redirect(url_for("admin.users"))


@bp.route("/users")
@roles_required(Role.ADMIN)
def users() -> str:
    departments = [(row.id, row.name) for row in db.session.execute(
        select(Department.id, Department.name).order_by(Department.active.desc(), Department.id))]
    form = UserFilterForm(request.args, departments=departments)
    statement = select(User).options(joinedload(User.department)).order_by(
        User.active.desc(), User.username)
    if form.role.data in {role.value for role in Role}:
        statement = statement.where(User.role_rows.any(UserRole.role == form.role.data))
    if (form.department.data or "").isdigit():
        statement = statement.where(User.department_id == int(form.department.data))
    if form.active.data in ("yes", "no"):
        statement = statement.where(User.active.is_(form.active.data == "yes"))
    page = paginate(statement, _page_number(), PER_PAGE)
    return render_template("admin/users.html", form=form, page=page)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> str | Response:
    form = UserCreateForm(departments=_department_choices())
    if form.validate_on_submit():
        try:
            user = operations.create_user(
                form.username.data, form.display_name.data, form.password.data, set(form.roles.data),
                department=_department(form.department.data), is_head=form.is_department_head.data,
                email=form.email.data, phone=form.phone.data,
            )
        except Refused as refused:
            show_refusal(form, refused.field_errors)
        except PasswordRejected as rejected:
            show_refusal(form, {"password": str(rejected)})
        else:
            db.session.commit()
            flash(_("The user %(name)s has been created.", name=user.display_name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int) -> str | Response:
    user = db.get_or_404(User, user_id)
    form = UserEditForm(departments=_department_choices(including=user.department_id), data={
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "roles": sorted(user.roles),
        "department": user.department_id or NONE,
        "is_department_head": user.is_department_head,
        "version": user.version,
    })
    if form.validate_on_submit():
        values = {
            "display_name": form.display_name.data,
            "email": form.email.data,
            "phone": form.phone.data,
            "department": _department(form.department.data),
            "is_department_head": form.is_department_head.data,
        }
        try:
            operations.update_user(user, values, set(form.roles.data), form.version.data)
            db.session.commit()
        except STALE:
            _stale(_("this user"))
            return redirect(url_for("admin.edit_user", user_id=user_id))
        except Refused as refused:
            show_refusal(form, refused.field_errors)
        else:
            flash(_("The changes to %(name)s have been saved.", name=user.display_name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user,
                           live_sessions=count_live_sessions(user))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def deactivate_user(user_id: int) -> Response:
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def reactivate_user(user_id: int) -> Response:
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool) -> Response:
    user = db.get_or_404(User, user_id)
    try:
        operations.set_active(user, active, _acting_user())
        db.session.commit()
    except Refused as refused:
        db.session.rollback()
        for message in refused.field_errors.values():
            flash(message, "danger")
    except STALE:
        _stale(_("this user"))
    else:
        if active:
            flash(_("%(name)s has been reactivated and can sign in again.", name=user.display_name),
                  "success")
        else:
            flash(_("%(name)s has been deactivated and signed out everywhere.", name=user.display_name),
                  "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def reset_password(user_id: int) -> str | Response:
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("Change your own password here; it keeps you signed in."), "info")
        return redirect(url_for("auth.change_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(user, form.password.data)
            db.session.commit()
        except PasswordRejected as rejected:
            show_refusal(form, {"password": str(rejected)})
        except STALE:
            _stale(_("this user"))
            return redirect(url_for("admin.reset_password", user_id=user_id))
        else:
            flash(_("The password of %(name)s has been reset and all of their sessions have been ended.",
                    name=user.display_name), "success")
            return redirect(url_for("admin.edit_user", user_id=user_id))
    return render_template("admin/user_password.html", form=form, user=user)


# Departments

@bp.route("/departments")
@roles_required(Role.ADMIN)
def departments() -> str:
    head = aliased(User)
    handlers = (
        select(func.count(User.id))
        .where(User.department_id == Department.id, User.active.is_(True), _is_handler())
        .correlate(Department)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Department, head, handlers.label("handlers"))
        .outerjoin(head, and_(head.department_id == Department.id, head.is_department_head.is_(True)))
        .order_by(Department.active.desc(), Department.id)
    ).all()
    return render_template("admin/departments.html", rows=rows)


@bp.route("/departments/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_department() -> str | Response:
    form = DepartmentCreateForm()
    if form.validate_on_submit():
        try:
            department = operations.create_department(form.name.data, form.short_name.data or "")
        except Refused as refused:
            show_refusal(form, refused.field_errors)
        else:
            db.session.commit()
            flash(_("The department %(name)s has been created.", name=department.name), "success")
            return redirect(url_for("admin.departments"))
    return render_template("admin/department_form.html", form=form, department=None)


def _active_handlers(department: Department) -> list[User]:
    return list(db.session.scalars(
        select(User)
        .where(User.department_id == department.id, User.active.is_(True), _is_handler())
        .order_by(User.display_name, User.id)
    ))


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_department(department_id: int) -> str | Response:
    department = db.get_or_404(Department, department_id)
    handlers = _active_handlers(department)
    current_head = next((h for h in handlers if h.is_department_head), None)
    form = DepartmentEditForm(
        handlers=[(h.id, f"{h.display_name} ({h.username})") for h in handlers],
        data={"name": department.name, "short_name": department.short_name,
              "head": current_head.id if current_head else NONE, "active": department.active,
              "version": department.version},
    )
    if form.validate_on_submit():
        head = next((h for h in handlers if h.id == form.head.data), None)
        values = {"name": form.name.data, "short_name": form.short_name.data or "",
                  "active": form.active.data}
        try:
            operations.update_department(department, values, head, form.version.data)
            db.session.commit()
        except STALE:
            _stale(_("this department"))
            return redirect(url_for("admin.edit_department", department_id=department_id))
        except Refused as refused:
            show_refusal(form, refused.field_errors)
        else:
            flash(_("The changes to %(name)s have been saved.", name=department.name), "success")
            return redirect(url_for("admin.departments"))
    return render_template("admin/department_form.html", form=form, department=department,
                           handlers=handlers)


# Categories

@bp.route("/categories")
@roles_required(Role.ADMIN)
def categories() -> str:
    rows = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    return render_template("admin/categories.html", categories=rows)


@bp.route("/categories/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_category() -> str | Response:
    form = CategoryCreateForm()
    if form.validate_on_submit():
        try:
            category = operations.create_category(form.name.data, form.name_en.data or "")
        except Refused as refused:
            show_refusal(form, refused.field_errors)
        else:
            db.session.commit()
            flash(_("The category %(name)s has been created.", name=category.name), "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_form.html", form=form, category=None)


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_category(category_id: int) -> str | Response:
    category = db.get_or_404(Category, category_id)
    form = CategoryEditForm(data={"name": category.name, "name_en": category.name_en,
                                  "version": category.version})
    if form.validate_on_submit():
        values = {"name": form.name.data, "name_en": form.name_en.data or "", "active": category.active}
        try:
            operations.update_category(category, values, form.version.data)
            db.session.commit()
        except STALE:
            _stale(_("this category"))
            return redirect(url_for("admin.edit_category", category_id=category_id))
        except Refused as refused:
            show_refusal(form, refused.field_errors)
        else:
            flash(_("The category %(name)s has been saved.", name=category.name), "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_form.html", form=form, category=category)


@bp.route("/categories/<int:category_id>/deactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def deactivate_category(category_id: int) -> Response:
    return _set_category_active(category_id, False)


@bp.route("/categories/<int:category_id>/reactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def reactivate_category(category_id: int) -> Response:
    return _set_category_active(category_id, True)


def _set_category_active(category_id: int, active: bool) -> Response:
    category = db.get_or_404(Category, category_id)
    form = VersionOnlyForm()
    if not form.validate_on_submit():
        flash(_("The form was incomplete; nothing was changed. Reload the page and try again."), "danger")
        return redirect(url_for("admin.categories"))
    values = {"name": category.name, "name_en": category.name_en, "active": active}
    try:
        operations.update_category(category, values, form.version.data)
        db.session.commit()
    except STALE:
        _stale(_("this category"))
    else:
        if active:
            flash(_("The category %(name)s can be chosen again.", name=category.name), "success")
        else:
            flash(_("The category %(name)s has been deactivated; demands filed under it keep it.",
                    name=category.name), "success")
    return redirect(url_for("admin.categories"))


# API tokens

@bp.route("/api-tokens")
@roles_required(Role.ADMIN)
def api_tokens() -> str:
    statement = (select(ApiToken)
                 .options(joinedload(ApiToken.user), joinedload(ApiToken.created_by))
                 .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    page = paginate(statement, _page_number(), PER_PAGE)
    return render_template("admin/api_tokens.html", page=page)


@bp.route("/api-tokens/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_api_token() -> str | Response:
    users = db.session.execute(
        select(User.id, User.display_name, User.username)
        .where(User.active.is_(True)).order_by(User.display_name, User.id)
    ).all()
    form = ApiTokenForm(users=[(u.id, f"{u.display_name} ({u.username})") for u in users],
                        data={"user": request.args.get("user", NONE, type=int)})
    if form.validate_on_submit():
        user = db.session.get(User, form.user.data) if form.user.data else None
        if user is None or not user.active:
            form.user.errors = [*form.user.errors, _("Choose the active user the token is for.")]
        else:
            token = issue_api_token(user, form.name.data, created_by=_acting_user())
            db.session.commit()
            # Shown on this answer and nowhere else: not flashed, not kept in the session cookie.
            return render_template("admin/api_token_issued.html", token=token, user=user,
                                   name=form.name.data)
    return render_template("admin/api_token_form.html", form=form)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"], endpoint="revoke_api_token")
@roles_required(Role.ADMIN)
def revoke_api_token_view(token_id: int) -> Response:
    api_token = db.get_or_404(ApiToken, token_id)
    if api_token.revoked_at is not None:
        flash(_("The token %(name)s was revoked already.", name=api_token.name), "info")
    else:
        revoke_api_token(api_token)
        db.session.commit()
        flash(_("The token %(name)s has been revoked; it no longer works.", name=api_token.name),
              "success")
    return redirect(url_for("admin.api_tokens"))


# Activity log

@bp.route("/activity", endpoint="activity")
@roles_required(Role.ADMIN)
def activity_log() -> str:
    users = db.session.execute(
        select(User.id, User.display_name, User.username).order_by(User.display_name, User.id)
    ).all()
    form = ActivityFilterForm(request.args, areas=[(p, str(label)) for p, label in activity.AREAS],
                              users=[(u.id, f"{u.display_name} ({u.username})") for u in users])
    statement = (select(AuditEvent).options(joinedload(AuditEvent.actor))
                 .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    if form.action.data:
        statement = statement.where(AuditEvent.action.startswith(form.action.data, autoescape=True))
    if (form.user.data or "").isdigit():
        user_id = int(form.user.data)
        statement = statement.where(or_(
            AuditEvent.actor_id == user_id,
            and_(AuditEvent.subject_type == User.__tablename__, AuditEvent.subject_id == user_id),
        ))
    page = paginate(statement, _page_number(), PER_PAGE)
    return render_template("admin/activity.html", form=form, page=page,
                           subjects=activity.subjects_of(page.items),
                           action_label=activity.action_label, describe=activity.describe_details)
