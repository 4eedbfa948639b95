"""Fixed keys, and a fresh empty database of the engine under test to restore into."""

import base64
import copy

import pytest
from django.db import connection

BACKUP_KEY = bytes(range(200, 232))
OTHER_BACKUP_KEY = bytes(range(100, 132))
FIELD_KEY = bytes(range(32))
INDEX_KEY = bytes(range(64, 96))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def keys(settings):
    """A configured (non-development) vault and backup key."""
    settings.VAULT_FIELD_KEYS = {"k1": FIELD_KEY}
    settings.VAULT_INDEX_KEY = INDEX_KEY
    settings.VAULT_INDEX_KEY_PREVIOUS = None
    settings.VAULT_DEVELOPMENT_KEYS = False
    settings.BACKUP_KEY = b64(BACKUP_KEY)
    return settings


class FreshDatabase:
    """An empty database of the engine under test: a file path for SQLite, a new database for PostgreSQL."""

    def __init__(self, tmp_path):
        self.vendor = connection.vendor
        base = connection.settings_dict
        if self.vendor == "sqlite":
            self.path = tmp_path / "restored" / "xinyuan.sqlite3"
            self.path.parent.mkdir()
            self.name = str(self.path)
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"{base['NAME']}_restore"
            auth = base["USER"] + (f":{base['PASSWORD']}" if base["PASSWORD"] else "")
            self.url = f"postgres://{auth}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{self.name}"
            self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}")
        self.settings_dict = copy.deepcopy(base)
        self.settings_dict.update(NAME=self.name)
        self.settings_dict["TEST"] = {**self.settings_dict.get("TEST", {}), "NAME": None}

    @staticmethod
    def _connect(dbname: str):
        import psycopg

        base = connection.settings_dict
        return psycopg.connect(
            dbname=dbname,
            user=base["USER"] or None,
            password=base["PASSWORD"] or None,
            host=base["HOST"] or None,
            port=base["PORT"] or None,
            autocommit=True,
        )

    def _admin(self, *statements):
        from psycopg import sql

        with self._connect("postgres") as conn:
            for statement in statements:
                conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def is_untouched(self) -> bool:
        """Nothing was written: no file (nor temporary file) for SQLite, no table for PostgreSQL."""
        if self.vendor == "sqlite":
            return list(self.path.parent.iterdir()) == []
        with self._connect(self.name) as conn:
            count = conn.execute(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).fetchone()[0]
        return count == 0

    def drop(self):
        if self.vendor == "postgresql":
            self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture
def fresh_database(tmp_path):
    database = FreshDatabase(tmp_path)
    yield database
    database.drop()
