from flask import redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug import Response

from servicedesk import audit
from servicedesk.config import LOCALES
from servicedesk.core import bp
from servicedesk.extensions import db
from servicedesk.models import Category, Company, Department, Role, User
from servicedesk.security import public, signed_in


@bp.route("/")
@signed_in
def index() -> str | Response:
    """Leaders open the desk on the dashboard; officers and handlers on their queue; others
    (administrators) on the overview."""
    from servicedesk.demands import lists  # the demands area builds on the core one

    user = current_user._get_current_object()
    if user.has_role(Role.LEADER):
        return redirect(url_for("dashboard.index"))
    if lists.has_queue(user):
        return lists.render_queue(user)
    counts = db.session.execute(
        select(
            select(func.count()).select_from(Company).scalar_subquery().label("companies"),
            select(func.count()).where(Department.active.is_(True)).scalar_subquery()
            .label("departments"),
            select(func.count()).where(Category.active.is_(True)).scalar_subquery()
            .label("categories"),
            select(func.count()).where(User.active.is_(True)).scalar_subquery().label("users"),
        )
    ).one()
    return render_template("core/index.html", counts=counts)


@bp.route("/language", methods=["POST"])
@public
def set_language() -> Response:
    """Switch the interface language; remembered on the account, or in the session before login."""
    chosen = request.form.get("locale")
    if chosen in LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated and current_user.locale != chosen:
            current_user.locale = chosen
            audit.record("user.language_changed", current_user, {"locale": chosen})
            db.session.commit()
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("core.index")
    return redirect(target)
