"""The lists run a fixed number of SQL statements, however many rows they show."""

from servicedesk.models import Role


def _count(client, count_queries, url: str) -> int:
    client.get(url)  # warm up: the first request may load things once
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def test_user_list_query_count_does_not_grow(client, auth, admin_user, make_user, make_department,
                                             count_queries) -> None:
    auth.login(admin_user)
    department = make_department()
    make_user(Role.OFFICER)
    make_user(Role.HANDLER, department=department)
    few = _count(client, count_queries, "/admin/users")
    for number in range(12):
        extra = make_department()
        make_user(Role.HANDLER, Role.LEADER, department=extra, is_head=number % 2 == 0)
        make_user(Role.OFFICER, Role.ADMIN)
    many = _count(client, count_queries, "/admin/users")
    assert many == few
    assert few <= 8


def test_department_lists_query_count_does_not_grow(client, auth, admin_user, make_user, make_department,
                                                    count_queries) -> None:
    auth.login(admin_user)
    first = make_department()
    make_user(Role.HANDLER, department=first, is_head=True)
    few_admin = _count(client, count_queries, "/admin/departments")
    few_public = _count(client, count_queries, "/departments/")
    for _ in range(10):
        department = make_department()
        make_user(Role.HANDLER, department=department, is_head=True)
        make_user(Role.HANDLER, department=department)
    assert _count(client, count_queries, "/admin/departments") == few_admin
    assert _count(client, count_queries, "/departments/") == few_public
    assert few_admin <= 6 and few_public <= 7


def test_activity_and_token_lists_query_count_does_not_grow(client, auth, admin_user, make_user,
                                                            count_queries) -> None:
    from servicedesk.auth.operations import issue_api_token
    from servicedesk.extensions import db

    auth.login(admin_user)
    user = make_user(Role.OFFICER)
    issue_api_token(user, "one", created_by=admin_user)
    db.session.commit()
    few = [_count(client, count_queries, url) for url in ("/admin/activity", "/admin/api-tokens")]
    for _ in range(10):
        other = make_user(Role.OFFICER)
        issue_api_token(other, "more", created_by=admin_user)
    db.session.commit()
    many = [_count(client, count_queries, url) for url in ("/admin/activity", "/admin/api-tokens")]
    assert many == few
