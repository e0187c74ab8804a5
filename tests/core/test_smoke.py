from servicedesk.models import Category


def test_login_page_renders_in_chinese_by_default(client) -> None:
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert "登录".encode() in response.data or b"Sign in" in response.data


def test_migrations_seed_the_default_categories(app) -> None:
    from servicedesk.extensions import db

    names = [c.name for c in db.session.scalars(db.select(Category).order_by(Category.position))]
    assert names[:2] == ["土地规划", "人才与子女入学"]
    assert len(names) == 8


def test_signed_in_user_sees_home(client, auth, officer) -> None:
    response = auth.login(officer)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
