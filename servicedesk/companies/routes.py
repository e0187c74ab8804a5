from servicedesk.companies import bp  # noqa: F401
