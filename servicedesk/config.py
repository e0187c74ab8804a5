"""Configuration: defaults, then instance/config.py, then SERVICEDESK_* environment variables."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Intranet installs often run on plain HTTP; set SERVICEDESK_SESSION_COOKIE_SECURE=true behind TLS.
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_NAME": "servicedesk_session",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "WTF_CSRF_TIME_LIMIT": None,  # the token is bound to the server-side login session instead
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "BOOTSTRAP_SERVE_LOCAL": True,
    "BOOTSTRAP_BTN_STYLE": "primary",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": False,
    #: failed logins allowed per user name, and per client address, within the window
    "LOGIN_FAILURES_PER_USER": "5 per 15 minutes",
    "LOGIN_FAILURES_PER_ADDRESS": "30 per 15 minutes",
    #: argon2id parameters; RFC 9106's second recommended option, above the OWASP ASVS 5 floor
    "PASSWORD_ARGON2_TIME_COST": 3,
    "PASSWORD_ARGON2_MEMORY_KIB": 65536,
    "PASSWORD_ARGON2_PARALLELISM": 4,
    "PASSWORD_MIN_LENGTH": 10,
    "API_TITLE": "Enterprise-service request desk API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_PAGE_SIZE_MAX": 100,
    #: the largest file accepted, and how many a form may send at once (photos of a visit)
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "UPLOAD_MAX_FILES": 10,
    #: admins and leaders are warned while any of this many coming days has no loaded calendar
    "CALENDAR_WARNING_DAYS": 60,
    #: pin the clock, e.g. "2026-06-15T09:00+08:00" (servicedesk.clock); empty: the real time
    "FROZEN_NOW": None,
    # The chase rules (chaser/tick.py): a department's overdue deadline is escalated to its head
    # after this many working days overdue, and to leadership (督办, key supervision) after that many.
    "CHASE_ESCALATE_HEAD_AFTER": 1,
    "CHASE_ESCALATE_LEADERSHIP_AFTER": 3,
    # The chaser's mail and timetable: mail leaves through the outbox (chaser/outbox.py) over SMTP,
    # with STARTTLS when MAIL_USE_TLS and a login when MAIL_USERNAME is set. A failed attempt is
    # tried again after OUTBOX_RETRY_MINUTES (1st, 2nd ... failure; the last one repeats) until
    # OUTBOX_GIVE_UP_HOURS after the message was written, then it is failed and shown to admins.
    # A message left 'sending' for OUTBOX_STALE_MINUTES belongs to a sender that died: it is retried.
    # The web process runs the scheduler (chaser/scheduler.py); set SCHEDULER_ENABLED false where
    # `flask scheduler` runs as its own process. DIGEST_TIME is Beijing time.
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_FROM": "servicedesk@localhost",
    "MAIL_TIMEOUT_SECONDS": 30,
    "OUTBOX_RETRY_MINUTES": (1, 5, 30, 60),
    "OUTBOX_GIVE_UP_HOURS": 72,
    "OUTBOX_STALE_MINUTES": 10,
    "CHASE_TICK_MINUTES": 15,
    "DIGEST_TIME": "08:30",
    "SCHEDULER_ENABLED": True,
    # The chaser's messages (chaser/messages.py): links in mail point into the desk at this address
    # (SERVICEDESK_BASE_URL), e.g. http://desk.zone.gov.cn
    "BASE_URL": "http://127.0.0.1:5000",
}

LOCALES = ("zh_CN", "en")


def catalog_name(locale: str) -> str:
    """The folder Babel looks in for a locale: zh_CN is zh_Hans_CN to it."""
    from babel import Locale

    return str(Locale.parse(locale))


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    app.config.update(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("SERVICEDESK")
    if overrides:
        app.config.update(overrides)
    # Each file is checked against UPLOAD_MAX_BYTES where it is read; a request may carry several.
    app.config.setdefault("MAX_CONTENT_LENGTH",
                          app.config["UPLOAD_MAX_BYTES"] * app.config["UPLOAD_MAX_FILES"] + 1024 * 1024)
    database_url = app.config.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(app.instance_path) / "servicedesk.sqlite3")
    )
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", normalise_database_url(database_url))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def normalise_database_url(url: str) -> str:
    """Let users write postgresql:// and still get psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: Path) -> str:
    """Read the secret key from the instance folder, generating it on first run."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place so that several workers starting at once agree on one key.
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return key_file.read_text().strip()
