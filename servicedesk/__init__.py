"""The enterprise-service request desk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_login import AnonymousUserMixin

from servicedesk import database  # also registers the SQLite connection settings
from servicedesk.config import load_config
from servicedesk.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def templates_dir() -> Path:
    """Inside the package once installed; at the repository root in a checkout."""
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("SERVICEDESK_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(templates_dir()),
    )
    load_config(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_commands(app)
    from servicedesk.security import undeclared_views

    missing = undeclared_views(app)
    if missing:
        raise RuntimeError(f"views without an access rule: {', '.join(missing)}")
    if app.config["SCHEDULER_ENABLED"] and not app.testing:
        from servicedesk.chaser.scheduler import start_in_process

        start_in_process(app)  # a web server's process; `flask` commands never schedule
    return app


def register_extensions(app: Flask) -> None:
    from servicedesk.i18n import register_i18n, select_locale
    from servicedesk.navigation import register_navigation

    db.init_app(app)
    app.teardown_request(lambda error: database.end_read_only_request(db.session(), error))
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                     include_object=database.include_in_migrations)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(PACKAGE_DIR / "translations"))
    bootstrap.init_app(app)
    limiter.init_app(app)
    register_login(app)
    register_i18n(app)
    register_navigation(app)


def register_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from servicedesk.auth.operations import SESSION_KEY, user_for_api_token, user_for_login_session
    from servicedesk.i18n import is_api_request

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = AnonymousUserMixin

    @login_manager.user_loader
    def load_user(user_id: str) -> Any:
        if is_api_request():  # the API takes bearer tokens only, never the browser's cookie
            return None
        return user_for_login_session(user_id, session.get(SESSION_KEY))

    @login_manager.request_loader
    def load_user_from_token(_request: Any) -> Any:
        if not is_api_request():
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return user_for_api_token(token.strip())

    @login_manager.unauthorized_handler
    def unauthorized() -> Any:
        from flask import flash, redirect, url_for

        from servicedesk.errors import api_error

        if is_api_request():
            return api_error(401)
        flash(str(login_manager.login_message), login_manager.login_message_category)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def register_blueprints(app: Flask) -> None:
    from servicedesk import (
        admin,
        api,
        auth,
        calendar,
        companies,
        core,
        dashboard,
        demands,
        departments,
        messages,
        visits,
    )

    for area in (core, auth, admin, dashboard, demands, visits, companies, departments, calendar, messages):
        app.register_blueprint(area.bp)
    api.init_api(app)


def register_errorhandlers(app: Flask) -> None:
    from servicedesk.errors import register_errorhandlers as register

    register(app)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def set_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/api/") or "text/html" in response.content_type:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_commands(app: Flask) -> None:
    from servicedesk.cli import register

    register(app)
