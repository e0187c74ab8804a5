"""The administrator's forms; choices that come from the database are filled in by the views."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from servicedesk.forms import VersionedForm, strip_filter
from servicedesk.models import Role

#: the empty choice of a department or head select
NONE = 0
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes (templates/macros/forms.html renders it)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[tuple[Role, str]]:
    return [(role, role.label) for role in Role]


def _none_to_zero(value: Any) -> int:
    return int(value) if value not in (None, "", "None") else NONE


class UserFieldsForm(FlaskForm):
    """What create and edit share."""

    display_name = StringField(_l("Display name"), filters=[strip_filter],
                               validators=[DataRequired(), Length(max=100)],
                               description=_l("The name other users see, e.g. 张伟."))
    email = StringField(_l("Email"), filters=[strip_filter], validators=[
        Optional(), Length(max=254),
        Regexp(EMAIL_PATTERN, message=_l("Enter an email address such as name@example.cn.")),
    ])
    phone = StringField(_l("Phone"), filters=[strip_filter], validators=[Optional(), Length(max=40)])
    roles = CheckboxListField(_l("Roles"), coerce=Role)
    department = SelectField(_l("Department"), coerce=_none_to_zero,
                             description=_l("Required for department handlers."))
    is_department_head = BooleanField(_l("Head of the department"),
                                      description=_l("Receives the department's escalations. "
                                                     "Naming a new head steps the old one down."))

    def __init__(self, *args: Any, departments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = role_choices()
        self.department.choices = [(NONE, _l("(none)")), *departments]


class UserCreateForm(UserFieldsForm):
    username = StringField(_l("User name"), filters=[strip_filter],
                           validators=[DataRequired(), Length(max=64),
                                       Regexp(r"^[A-Za-z0-9._-]+$", message=_l(
                                           "Use only letters, digits, dots, hyphens and underscores."))],
                           description=_l("Used to sign in; cannot be changed later."))
    password = PasswordField(_l("Initial password"), validators=[InputRequired(), Length(max=200)])
    submit = SubmitField(_l("Create user"))


class UserEditForm(UserFieldsForm, VersionedForm):
    submit = SubmitField(_l("Save changes"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=200)])
    submit = SubmitField(_l("Reset password"))


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    role = SelectField(_l("Role"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    active = SelectField(_l("Status"), validate_choice=False)

    def __init__(self, *args: Any, departments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _l("All roles")), *((r.value, r.label) for r in Role)]
        self.department.choices = [("", _l("All departments")),
                                   *((str(i), name) for i, name in departments)]
        self.active.choices = [("", _l("Active and deactivated")), ("yes", _l("Active")),
                               ("no", _l("Deactivated"))]


class DepartmentCreateForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=100)],
                       description=_l("The full name, e.g. 自然资源和规划分局."))
    short_name = StringField(_l("Short name"), filters=[strip_filter],
                             validators=[Optional(), Length(max=30)],
                             description=_l("Used in tables and digests, e.g. 资规分局."))
    submit = SubmitField(_l("Create department"))


class DepartmentEditForm(VersionedForm):
    name = DepartmentCreateForm.name
    short_name = DepartmentCreateForm.short_name
    head = SelectField(_l("Head"), coerce=_none_to_zero,
                       description=_l("Chosen among the department's active handlers."))
    active = BooleanField(_l("Active"),
                          description=_l("Inactive departments keep their history but get no new items."))
    submit = SubmitField(_l("Save changes"))

    def __init__(self, *args: Any, handlers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head.choices = [(NONE, _l("(no head)")), *handlers]


class CategoryCreateForm(FlaskForm):
    name = StringField(_l("Chinese name"), filters=[strip_filter],
                       validators=[DataRequired(), Length(max=60)])
    name_en = StringField(_l("English name"), filters=[strip_filter],
                          validators=[Optional(), Length(max=80)])
    submit = SubmitField(_l("Create category"))


class CategoryEditForm(VersionedForm):
    name = CategoryCreateForm.name
    name_en = CategoryCreateForm.name_en
    submit = SubmitField(_l("Save changes"))


class VersionOnlyForm(VersionedForm):
    """A button that changes one thing of a record seen at a version (deactivate, reactivate)."""


class ApiTokenForm(FlaskForm):
    user = SelectField(_l("User"), coerce=_none_to_zero,
                       description=_l("The token acts with this user's roles."))
    name = StringField(_l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=100)],
                       description=_l("What the token is for, e.g. 12345 hotline bridge."))
    submit = SubmitField(_l("Issue token"))

    def __init__(self, *args: Any, users: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user.choices = [(NONE, _l("(choose a user)")), *users]


class ActivityFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    action = SelectField(_l("Kind"), validate_choice=False)
    user = SelectField(_l("By or about the user"), validate_choice=False)

    def __init__(self, *args: Any, areas: list[tuple[str, str]], users: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("Everything")), *areas]
        self.user.choices = [("", _l("Everybody")), *((str(i), name) for i, name in users)]
