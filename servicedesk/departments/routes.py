from servicedesk.departments import bp  # noqa: F401
