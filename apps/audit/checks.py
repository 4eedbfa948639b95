"""Warn when the database setup cannot serialise audit writers."""

from django.conf import settings
from django.core import checks


@checks.register("audit")
def check_sqlite_immediate(app_configs=None, **kwargs):
    """SQLite serialises audit writers only when every transaction begins with BEGIN IMMEDIATE."""
    database = settings.DATABASES.get("default", {})
    if database.get("ENGINE") != "django.db.backends.sqlite3":
        return []
    if (database.get("OPTIONS") or {}).get("transaction_mode") == "IMMEDIATE":
        return []
    return [
        checks.Warning(
            "SQLite without transaction_mode IMMEDIATE: concurrent audit writes may fail.",
            hint='Set DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE".',
            id="audit.W001",
        )
    ]
