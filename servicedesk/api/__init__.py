"""The JSON API under /api/v1: bearer tokens, the same access rules as the pages."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from servicedesk.extensions import csrf
from servicedesk.security import public


class DeskApi(Api):
    """flask-smorest's Api, leaving error answers to servicedesk.errors (one format for all)."""

    def _register_error_handlers(self) -> None:
        pass


api = DeskApi()
bp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                  description="Visits, demands and their lifecycle actions; companies, departments, "
                              "categories, the working-day calendar, time limits and the signed-in user.")


def init_api(app: Flask) -> None:
    from servicedesk.api import dashboard, demands, routes  # noqa: F401

    api.init_app(app, spec_kwargs={
        "info": {"description": "Authenticate with 'Authorization: Bearer <token>'. "
                 "Errors answer {\"error\": {\"code\": ..., \"message\": ...}}."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    api.register_blueprint(bp)
    csrf.exempt(bp)
    # The OpenAPI document describes the API to anyone who may try it; it holds no data.
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith("api-docs."):
            app.view_functions[endpoint] = public(view)


def page_args(args: dict[str, Any]) -> tuple[int, int]:
    return args["page"], args["per_page"]
