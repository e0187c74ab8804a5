"""Categories: create, rename, deactivate and reactivate."""

import pytest
from flask.testing import FlaskClient

from servicedesk.extensions import db
from servicedesk.models import Category


@pytest.fixture
def as_admin(auth, admin_user) -> FlaskClient:
    auth.login(admin_user)
    return auth.client


def _first() -> Category:
    return db.session.scalars(db.select(Category).order_by(Category.position)).first()


def test_the_default_categories_are_listed(as_admin) -> None:
    page = as_admin.get("/admin/categories").get_data(as_text=True)
    assert "土地规划" in page and "人才与子女入学" in page


def test_create_category(as_admin) -> None:
    response = as_admin.post("/admin/categories/new", data={"name": "金融服务", "name_en": "Finance"})
    assert response.status_code == 302
    category = db.session.scalar(db.select(Category).where(Category.name == "金融服务"))
    assert category.name_en == "Finance" and category.active
    assert category.position == db.session.scalar(db.select(db.func.max(Category.position)))


def test_duplicate_category_is_refused(as_admin) -> None:
    response = as_admin.post("/admin/categories/new", data={"name": "土地规划", "name_en": "Land"})
    assert "A category with this name exists already." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Category)) == 8


def test_rename_category(as_admin) -> None:
    category = _first()
    response = as_admin.post(f"/admin/categories/{category.id}", data={
        "name": "土地与规划", "name_en": "Land and planning", "version": category.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert (category.name, category.name_en, category.active) == ("土地与规划", "Land and planning", True)


def test_stale_rename_is_refused(as_admin) -> None:
    category = _first()
    version = category.version
    url = f"/admin/categories/{category.id}"
    as_admin.post(url, data={"name": "第一次", "name_en": "", "version": version})
    response = as_admin.post(url, data={"name": "第二次", "name_en": "", "version": version},
                             follow_redirects=True)
    assert "Someone else changed this category" in response.get_data(as_text=True)
    db.session.expire_all()
    assert category.name == "第一次"


def test_deactivate_and_reactivate_category(as_admin) -> None:
    category = _first()
    as_admin.post(f"/admin/categories/{category.id}/deactivate", data={"version": category.version})
    db.session.expire_all()
    assert not category.active
    assert category.name == "土地规划"
    as_admin.post(f"/admin/categories/{category.id}/reactivate", data={"version": category.version})
    db.session.expire_all()
    assert category.active


def test_deactivate_with_a_stale_version_changes_nothing(as_admin) -> None:
    category = _first()
    response = as_admin.post(f"/admin/categories/{category.id}/deactivate",
                             data={"version": category.version + 5}, follow_redirects=True)
    assert "Someone else changed this category" in response.get_data(as_text=True)
    db.session.expire_all()
    assert category.active
