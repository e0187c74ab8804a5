from servicedesk.admin import bp  # noqa: F401
