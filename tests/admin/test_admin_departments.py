"""Creating and editing departments, and naming their head."""

import pytest
from flask.testing import FlaskClient

from servicedesk.admin.operations import Refused, update_department
from servicedesk.extensions import db
from servicedesk.models import Department, Role


@pytest.fixture
def as_admin(auth, admin_user) -> FlaskClient:
    auth.login(admin_user)
    return auth.client


def _edit_form(department: Department, **values):
    data = {"name": department.name, "short_name": department.short_name, "head": "0",
            "active": "y" if department.active else None, "version": str(department.version)}
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def test_create_department(as_admin) -> None:
    response = as_admin.post("/admin/departments/new", data={"name": "科技局", "short_name": "科技"})
    assert response.status_code == 302
    department = db.session.scalar(db.select(Department).where(Department.name == "科技局"))
    assert department is not None and department.short_name == "科技" and department.active
    assert "科技局" in as_admin.get("/admin/departments").get_data(as_text=True)


def test_duplicate_department_name_is_refused(as_admin, department) -> None:
    response = as_admin.post("/admin/departments/new", data={"name": department.name, "short_name": "x"})
    assert response.status_code == 200
    assert "A department with this name exists already." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Department)) == 1


def test_edit_department_and_name_its_head(as_admin, department, make_user) -> None:
    handler = make_user(Role.HANDLER, department=department, display_name="孙丽")
    response = as_admin.post(f"/admin/departments/{department.id}", data=_edit_form(
        department, name="自然资源和规划局", short_name="资规局", head=str(handler.id)))
    assert response.status_code == 302
    db.session.expire_all()
    assert department.name == "自然资源和规划局" and department.short_name == "资规局"
    assert handler.is_department_head
    listing = as_admin.get("/admin/departments").get_data(as_text=True)
    assert "孙丽" in listing


def test_naming_a_new_head_steps_the_old_one_down(as_admin, department, make_user) -> None:
    old = make_user(Role.HANDLER, department=department, is_head=True)
    new = make_user(Role.HANDLER, department=department)
    version = department.version
    as_admin.post(f"/admin/departments/{department.id}", data=_edit_form(department, head=str(new.id)))
    db.session.expire_all()
    assert new.is_department_head and not old.is_department_head
    assert department.version == version + 1  # a concurrent edit of the head is caught too


def test_head_must_be_a_handler_of_the_department(as_admin, department, other_department,
                                                  make_user) -> None:
    outsider = make_user(Role.HANDLER, department=other_department)
    officer = make_user(Role.OFFICER)
    for candidate in (outsider, officer):
        response = as_admin.post(f"/admin/departments/{department.id}",
                                 data=_edit_form(department, head=str(candidate.id)))
        assert response.status_code == 200
        assert "is-invalid" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not outsider.is_department_head and not officer.is_department_head


def test_operation_refuses_a_head_from_elsewhere(app, department, other_department, make_user) -> None:
    outsider = make_user(Role.HANDLER, department=other_department)
    with pytest.raises(Refused) as refused:
        update_department(department, {"name": department.name, "short_name": "x", "active": True},
                          outsider, department.version)
    assert "head" in refused.value.field_errors


def test_head_choices_are_the_departments_active_handlers(as_admin, department, other_department,
                                                          make_user) -> None:
    make_user(Role.HANDLER, department=department, display_name="本部门")
    make_user(Role.HANDLER, department=other_department, display_name="外部门")
    page = as_admin.get(f"/admin/departments/{department.id}").get_data(as_text=True)
    select = page[page.index('id="head"'):page.index("</select>", page.index('id="head"'))]
    assert "本部门" in select and "外部门" not in select


def test_deactivate_department(as_admin, department) -> None:
    as_admin.post(f"/admin/departments/{department.id}", data=_edit_form(department, active=None))
    db.session.expire_all()
    assert not department.active


def test_stale_department_edit_is_refused(as_admin, department) -> None:
    stale = _edit_form(department, short_name="旧")
    update_department(department, {"name": department.name, "short_name": "新", "active": True}, None,
                      department.version)
    db.session.commit()
    response = as_admin.post(f"/admin/departments/{department.id}", data=stale, follow_redirects=True)
    assert "Someone else changed this department" in response.get_data(as_text=True)
    db.session.expire_all()
    assert department.short_name == "新"


def test_department_list_counts_handlers(as_admin, department, other_department, make_user) -> None:
    make_user(Role.HANDLER, department=department)
    make_user(Role.HANDLER, department=department, is_head=True, display_name="头儿")
    page = as_admin.get("/admin/departments").get_data(as_text=True)
    row = page[page.index(department.name):page.index(other_department.name)]
    assert '<td class="text-end">2</td>' in row
    assert "头儿" in row
