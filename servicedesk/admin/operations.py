"""Users, departments and categories: the changes an administrator makes, each with its event."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from servicedesk import audit
from servicedesk.auth.operations import (
    check_new_password,
    end_all_login_sessions,
    find_user,
    normalise_username,
    set_password,
)
from servicedesk.extensions import db
from servicedesk.models import Category, Department, Role, User
from servicedesk.security import hash_password


class Refused(ValueError):
    """The change breaks a rule; field_errors says which field and why."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(field_errors.values()))
        self.field_errors = field_errors


def _check_membership(roles: set[Role], department: Department | None, is_head: bool) -> None:
    if Role.HANDLER in roles and department is None:
        raise Refused({"department": _("A department handler must belong to a department.")})
    if is_head and Role.HANDLER not in roles:
        raise Refused({"is_department_head": _("Only a department handler can head a department.")})
    if not roles:
        raise Refused({"roles": _("Choose at least one role.")})


def _become_head(user: User) -> None:
    """A department has one head: naming a new one steps the old one down, written first so that
    the unique index on the head never sees two at once."""
    db.session.flush()
    old = db.session.scalar(select(User).where(
        User.department_id == user.department_id, User.is_department_head.is_(True), User.id != user.id
    ))
    if old is not None:
        old.is_department_head = False
        audit.record("user.updated", old, {"is_department_head": [True, False]})
    user.is_department_head = True


def create_user(
    username: str,
    display_name: str,
    password: str,
    roles: set[Role],
    department: Department | None = None,
    is_head: bool = False,
    email: str | None = None,
    phone: str | None = None,
) -> User:
    username = normalise_username(username)
    if not username:
        raise Refused({"username": _("Enter a user name.")})
    if find_user(username) is not None:
        raise Refused({"username": _("The user name %(name)s is taken.", name=username)})
    _check_membership(roles, department, is_head)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash="!",  # noqa: S106 (replaced below once the password rules are checked)
        department=department if Role.HANDLER in roles else None,
        is_department_head=False,
        email=email or None,
        phone=phone or None,
    )
    user.set_roles(roles)
    db.session.add(user)
    check_new_password(user, password)
    user.password_hash = hash_password(password)
    if is_head:
        _become_head(user)
    audit.record("user.created", user, {
        "username": username,
        "roles": sorted(role.value for role in roles),
        "department": department.name if department else None,
        "is_department_head": is_head,
    })
    return user


def update_user(user: User, values: dict[str, Any], roles: set[Role], version_seen: int) -> None:
    audit.ensure_not_stale(user, version_seen)
    department = values.get("department")
    is_head = bool(values.get("is_department_head"))
    _check_membership(roles, department, is_head)
    acting = audit.acting_user()
    if acting is not None and acting.id == user.id and Role.ADMIN in user.roles - roles:
        raise Refused({"roles": _("You cannot remove your own administrator role.")})
    if Role.HANDLER not in roles:
        department, is_head = None, False
    department_id = department.id if department else None
    was_head = user.is_department_head
    if was_head and (not is_head or department_id != user.department_id):
        user.is_department_head = False  # steps down before moving, for the one-head index
    old_roles = user.roles
    changed = audit.changes(user, {
        "display_name": values["display_name"],
        "email": values.get("email") or None,
        "phone": values.get("phone") or None,
        "department_id": department_id,
    })
    if is_head and not user.is_department_head:
        _become_head(user)
    if user.is_department_head != was_head:
        changed["is_department_head"] = [was_head, user.is_department_head]
    if roles != old_roles:
        user.set_roles(roles)
        flag_modified(user, "display_name")  # the roles live in their own table: bump the version too
        changed["roles"] = [sorted(r.value for r in old_roles), sorted(r.value for r in roles)]
    if changed:
        audit.record("user.updated", user, changed)


def set_active(user: User, active: bool, acting: User | None) -> None:
    if user.active == active:
        return
    if not active and acting is not None and acting.id == user.id:
        raise Refused({"active": _("You cannot deactivate your own account.")})
    user.active = active
    if not active:
        user.is_department_head = False
        end_all_login_sessions(user)
    audit.record("user.activated" if active else "user.deactivated", user)


def reset_password(user: User, password: str) -> None:
    set_password(user, password, action="user.password_reset")


def active_departments() -> list[Department]:
    return list(db.session.scalars(
        select(Department).where(Department.active.is_(True)).order_by(Department.id)
    ))


def _name_taken(model: type[Department] | type[Category], name: str,
                exclude_id: int | None = None) -> bool:
    statement = select(model.id).where(model.name == name)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    return db.session.scalar(statement) is not None


def create_department(name: str, short_name: str) -> Department:
    name, short_name = name.strip(), short_name.strip()
    if not name:
        raise Refused({"name": _("Enter the department's name.")})
    if _name_taken(Department, name):
        raise Refused({"name": _("A department with this name exists already.")})
    department = Department(name=name, short_name=short_name or name)
    db.session.add(department)
    audit.record("department.created", department, {"name": name, "short_name": short_name})
    return department


def update_department(department: Department, values: dict[str, Any], head: User | None,
                      version_seen: int) -> None:
    audit.ensure_not_stale(department, version_seen)
    name = values["name"].strip()
    if _name_taken(Department, name, exclude_id=department.id):
        raise Refused({"name": _("A department with this name exists already.")})
    if head is not None and (head.department_id != department.id or not head.has_role(Role.HANDLER)
                             or not head.active):
        raise Refused({"head": _("The head must be an active handler of this department.")})
    changed = audit.changes(department, {
        "name": name,
        "short_name": values["short_name"].strip() or name,
        "active": bool(values["active"]),
    })
    current_head = department.head
    if head is not current_head:
        if current_head is not None:
            current_head.is_department_head = False
        if head is not None:
            db.session.flush()
            head.is_department_head = True
        changed["head"] = [current_head.username if current_head else None,
                           head.username if head else None]
        flag_modified(department, "name")  # the head lives on the users: bump the version too
    if changed:
        audit.record("department.updated", department, changed)


def create_category(name: str, name_en: str) -> Category:
    name, name_en = name.strip(), name_en.strip()
    if not name:
        raise Refused({"name": _("Enter the category's name.")})
    if _name_taken(Category, name):
        raise Refused({"name": _("A category with this name exists already.")})
    position = (db.session.scalar(select(db.func.max(Category.position))) or 0) + 1
    category = Category(name=name, name_en=name_en or name, position=position)
    db.session.add(category)
    audit.record("category.created", category, {"name": name, "name_en": name_en})
    return category


def update_category(category: Category, values: dict[str, Any], version_seen: int) -> None:
    audit.ensure_not_stale(category, version_seen)
    name = values["name"].strip()
    if _name_taken(Category, name, exclude_id=category.id):
        raise Refused({"name": _("A category with this name exists already.")})
    changed = audit.changes(category, {
        "name": name,
        "name_en": values["name_en"].strip() or name,
        "active": bool(values["active"]),
    })
    if changed:
        audit.record("category.updated", category, changed)
