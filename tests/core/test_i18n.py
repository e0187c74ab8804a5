"""Chinese by default, English on request, remembered per user; dates in each language's way."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from servicedesk.extensions import db
from servicedesk.i18n import format_day, format_moment, format_weekday


def test_switching_to_english_before_signing_in(client) -> None:
    assert 'lang="zh-CN"' in client.get("/auth/login").get_data(as_text=True)
    response = client.post("/language", data={"locale": "en", "next": "/auth/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="en"' in page
    assert "Sign in" in page


def test_language_is_remembered_on_the_account(app, client, auth, officer) -> None:
    auth.login(officer)
    client.post("/language", data={"locale": "en", "next": "/"})
    db.session.refresh(officer)
    assert officer.locale == "en"
    other_browser = app.test_client()
    other_browser.post("/auth/login", data={"username": "officer",
                                            "password": "correct horse battery"})
    assert 'lang="en"' in other_browser.get("/").get_data(as_text=True)
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


def test_unknown_language_and_off_site_next_are_ignored(client) -> None:
    response = client.post("/language", data={"locale": "fr", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert 'lang="zh-CN"' in client.get("/auth/login").get_data(as_text=True)


def test_language_switch_needs_csrf(client) -> None:
    assert client.post("/language", data={"locale": "en"}, csrf=False).status_code == 400


def test_dates_in_chinese_and_english(app) -> None:
    moment = datetime(2026, 6, 4, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    with app.test_request_context("/"):
        assert format_day(date(2026, 6, 4)) == "2026年6月4日"
        assert format_moment(moment) == "2026年6月4日 14:30"
    with app.test_request_context("/", headers={"Cookie": ""}):
        from flask import session
        from flask_babel import refresh

        session["locale"] = "en"
        refresh()
        assert format_day(date(2026, 6, 4)) == "2026-06-04"
        assert format_moment(moment) == "2026-06-04 14:30"


def test_day_boundary_follows_shanghai_time(app) -> None:
    late_utc = datetime(2026, 6, 3, 17, 0, tzinfo=UTC)  # already 4 June, 01:00 in Shanghai
    with app.test_request_context("/"):
        assert format_day(late_utc) == "2026年6月4日"
        assert format_moment(late_utc) == "2026年6月4日 01:00"
        # a naive moment is UTC, as the database keeps them
        assert format_moment(late_utc.replace(tzinfo=None)) == "2026年6月4日 01:00"
        assert format_moment(datetime(2026, 6, 4, 9, 5, tzinfo=UTC)) == "2026年6月4日 17:05"


def test_pages_say_which_time_zone_they_use(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Asia/Shanghai" in page


def test_weekdays_in_chinese_and_english(app) -> None:
    week = [date(2026, 6, 1) + timedelta(days=n) for n in range(7)]  # Monday 1 June to Sunday 7 June
    with app.test_request_context("/"):
        assert [format_weekday(day) for day in week] == ["周一", "周二", "周三", "周四", "周五", "周六",
                                                         "周日"]
    with app.test_request_context("/"):
        from flask import session
        from flask_babel import refresh

        session["locale"] = "en"
        refresh()
        assert [format_weekday(day) for day in week] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_templates_translate_in_the_locale_in_force(app) -> None:
    """The templates' _() and ngettext (i18n.catalog) follow the request's locale and a forced one."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('Sign out') }} {{ ngettext('%(num)d time', '%(num)d times', 2) }}"
    with app.test_request_context("/"):
        chinese = render_template_string(page)
        with force_locale("en"):
            assert render_template_string(page) == "Sign out 2 times"
        assert render_template_string(page) == chinese
        assert "Sign out" not in chinese and "2" in chinese
