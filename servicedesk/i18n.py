"""Language and time: which locale a request gets, and how dates are shown in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TypeVar

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.support import NullTranslations
from flask import Flask, has_request_context, request, session
from flask_babel import get_locale, get_translations, gettext
from flask_login import current_user

from servicedesk.config import LOCALES
from servicedesk.domain.workdays import ZONE

DEFAULT_LOCALE = LOCALES[0]
Built = TypeVar("Built")


def is_api_request() -> bool:
    return has_request_context() and request.path.startswith("/api/")


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    if is_api_request():
        return _from_accept()
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in LOCALES:
        return user_locale
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def _from_accept() -> str:
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else DEFAULT_LOCALE


def is_chinese() -> bool:
    return str(get_locale()).startswith("zh")


def once_per_locale(build: Callable[[], Built]) -> Callable[[], Built]:
    """`build`, run once per locale (the request's) and remembered: for tables of the code's own
    words translated (a page's labels), whose translations never change while the desk runs.
    Translating them on every request cost a page a few hundred lookups of the locale."""
    remembered = lru_cache(maxsize=len(LOCALES) + 1)(lambda _locale: build())
    return lambda: remembered(str(get_locale()))


def in_beijing(value: datetime) -> datetime:
    """The moment in Beijing time, as the desk shows every time (its footer says so); a naive one
    is taken as UTC, as stored. Flask-Babel's to_user_timezone looked the zone up on every call,
    which cost a timeline of 30 events a quarter of a millisecond."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZONE)


def format_day(value: date | datetime | None) -> str:
    """2026年6月4日 in Chinese, 2026-06-04 in English; datetimes are taken in Asia/Shanghai."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = in_beijing(value).date()
    locale = str(get_locale())
    return _long_day(value, locale) if locale.startswith("zh") else value.isoformat()


@lru_cache(maxsize=4096)
def _long_day(value: date, locale: str) -> str:
    """Babel's long date, remembered: a list shows the same few days on every row, and formatting
    one costs Babel more than the rest of the row (a day's name in a locale never changes)."""
    return babel_format_date(value, "long", locale=locale)


def format_moment(value: datetime | None) -> str:
    """2026年6月4日 14:30 in Chinese, 2026-06-04 14:30 in English, in Asia/Shanghai."""
    if value is None:
        return ""
    local = in_beijing(value)
    return f"{format_day(local.date())} {local.hour:02d}:{local.minute:02d}"


def format_weekday(value: date) -> str:
    """周四 in Chinese, Thu in English."""
    return _weekday(value.weekday(), str(get_locale()))


@lru_cache(maxsize=32)
def _weekday(weekday: int, locale: str) -> str:
    """A weekday's short name, remembered like _long_day: a deadline's explanation names the
    weekday of every day it skips."""
    return babel_format_date(date(2024, 1, 1 + weekday), "EEE", locale=locale)  # 1 January 2024 was a Monday


def format_day_and_weekday(value: date) -> str:
    """2026年6月8日（周一） in Chinese, 2026-06-08 (Mon) in English."""
    return gettext("%(day)s (%(weekday)s)", day=format_day(value), weekday=format_weekday(value))


def format_month(value: date) -> str:
    """2026年10月 in Chinese, October 2026 in English."""
    return format_skeleton("yMMMM", value, locale=get_locale())


def catalog() -> NullTranslations:
    """Flask-Babel's translations of the current locale (forced or the request's), remembered per
    locale: finding them through Flask-Babel's context, domain and locale each time took more than
    half of what a template's `_()` costs, and a page says a hundred of them."""
    return _catalog_of(str(get_locale()))


@lru_cache(maxsize=len(LOCALES) + 2)
def _catalog_of(_locale: str) -> NullTranslations:
    return get_translations()


def register_i18n(app: Flask) -> None:
    # the templates' _(), ngettext() and their context forms: as Flask-Babel installs them, but
    # through catalog()
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: catalog().ugettext(string),
        ngettext=lambda singular, plural, n: catalog().ungettext(singular, plural, n),
        pgettext=lambda context, string: catalog().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: catalog().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["weekday"] = format_weekday
    app.jinja_env.filters["day_and_weekday"] = format_day_and_weekday
    app.jinja_env.filters["month"] = format_month
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.globals["LOCALES"] = LOCALES
    app.jinja_env.globals["is_chinese"] = is_chinese
