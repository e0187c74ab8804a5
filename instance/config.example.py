# Example instance configuration. Copy to instance/config.py and adjust; instance/config.py is not
# committed. Every key can also be set as an environment variable with the SERVICEDESK_ prefix,
# e.g. SERVICEDESK_DATABASE_URL; the environment wins over this file.

# Database: SQLite in the instance folder by default. For PostgreSQL:
# DATABASE_URL = "postgresql://servicedesk@db.internal/servicedesk"

# Behind HTTPS, send the session cookie over TLS only.
# SESSION_COOKIE_SECURE = True

# Failed logins allowed before the login is slowed down.
# LOGIN_FAILURES_PER_USER = "5 per 15 minutes"
# LOGIN_FAILURES_PER_ADDRESS = "30 per 15 minutes"

# With several web processes, share the login counters between them, e.g. in Redis:
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"

# The secret key is generated into instance/secret_key on first run; set it here only if
# several hosts must share one.
# SECRET_KEY = "..."
