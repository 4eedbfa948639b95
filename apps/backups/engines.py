"""What differs between SQLite and PostgreSQL: taking a consistent dump, writing it back, counting.

* SQLite: the online-backup API (``sqlite3.Connection.backup``) run on Django's live connection
  copies a consistent snapshot page by page into a temporary file, even for an in-memory
  database. The inventory (tables, row counts, migrations, audit head) is read from that copy,
  so it describes exactly what was backed up.
* PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the inventory is read in it
  and ``pg_dump --snapshot`` dumps the very same state while the transaction stays open.

Connection arguments for the PostgreSQL tools and for psycopg come from a Django settings dict
(``connections[alias].settings_dict``); the password travels in ``PGPASSWORD``, never in argv.
"""

import copy
import os
import shutil
import sqlite3
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.utils import load_backend

from apps.audit.models import AuditEntry

ENGINE_VENDORS = {
    "django.db.backends.sqlite3": "sqlite",
    "django.db.backends.postgresql": "postgresql",
}
# OPTIONS keys of Django's PostgreSQL backend that are not libpq connection parameters.
DJANGO_ONLY_PG_OPTIONS = {
    "isolation_level",
    "pool",
    "server_side_binding",
    "assume_role",
    "cursor_factory",
    "context",
    "prepare_threshold",
}
PG_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}
TOOL_TIMEOUT = 6 * 3600  # seconds; a dump or restore that runs longer is stuck


@dataclass(frozen=True)
class Inventory:
    """What a database holds, as far as a restore check needs to know."""

    migrations: dict[str, list[str]]
    row_counts: dict[str, int]
    audit_head: dict | None  # {"seq": n, "entry_hash": h}; seq 0 for an empty log


def vendor_of(settings_dict: dict) -> str:
    return ENGINE_VENDORS.get(settings_dict.get("ENGINE", ""), settings_dict.get("ENGINE", ""))


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(cursor, vendor: str) -> list[tuple[str, str]]:
    """``(label, quoted name)`` of every user table, sorted by label."""
    if vendor == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        return [(name, quote(name)) for (name,) in cursor.fetchall()]
    cursor.execute(
        "SELECT schemaname, tablename FROM pg_catalog.pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg_toast%' "
        "ORDER BY schemaname, tablename"
    )
    tables = []
    for schema, name in cursor.fetchall():
        label = name if schema == "public" else f"{schema}.{name}"
        tables.append((label, f"{quote(schema)}.{quote(name)}"))
    return sorted(tables)


def table_count(cursor, vendor: str) -> int:
    return len(_tables(cursor, vendor))


def take_inventory(cursor, vendor: str) -> Inventory:
    """Row counts of every table, applied migrations per app and the audit chain head.

    ``cursor`` is any DB-API cursor (sqlite3, psycopg or Django's) on the database to describe.
    """
    tables = _tables(cursor, vendor)
    counts = {}
    for label, quoted in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608 - names from the catalogue, quoted
        counts[label] = int(cursor.fetchone()[0])
    labels = {label for label, _ in tables}
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in labels:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    head = None
    audit_table = AuditEntry._meta.db_table
    if audit_table in labels:
        cursor.execute(f"SELECT seq, entry_hash FROM {quote(audit_table)} ORDER BY seq DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
        head = {"seq": int(row[0]), "entry_hash": row[1]} if row else {"seq": 0, "entry_hash": "0" * 64}
    return Inventory(migrations=migrations, row_counts=counts, audit_head=head)


# --- SQLite --------------------------------------------------------------------------------------


def is_memory_database(name) -> bool:
    text = str(name or "")
    return text in ("", ":memory:") or "mode=memory" in text


def sqlite_snapshot(alias: str, target: Path) -> Inventory:
    """Copy the live SQLite database of ``alias`` into ``target`` with the backup API; describe the copy."""
    connection = connections[alias]
    connection.ensure_connection()
    copy_connection = sqlite3.connect(target)
    try:
        connection.connection.backup(copy_connection)
        return take_inventory(copy_connection.cursor(), "sqlite")
    finally:
        copy_connection.close()


def sqlite_check(path: Path) -> str:
    """``PRAGMA quick_check`` of a database file: "ok" when it is a sound SQLite database."""
    try:
        check = sqlite3.connect(path)
        try:
            return "; ".join(row[0] for row in check.execute("PRAGMA quick_check").fetchall())
        finally:
            check.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        # A WAL-mode copy leaves its -wal/-shm files behind when it was opened; they belong to
        # the temporary name and must not follow the file to its target.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- PostgreSQL ----------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """Path of the configured ``pg_dump``/``pg_restore`` binary, or a clear refusal."""
    configured = getattr(settings, f"BACKUP_{name.upper()}", name)
    found = shutil.which(configured)
    if not found:
        raise ValidationError(
            f"找不到 {name}（设置 BACKUP_{name.upper()} 为 {configured!r}）。"
            f"请安装与数据库服务器同一主版本的 PostgreSQL 客户端工具。",
            code="tool_missing",
        )
    return found


def pg_arguments(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """Command-line connection options (without the database name) and the environment for them."""
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    for option, variable in PG_ENV.items():
        if settings_dict.get("OPTIONS", {}).get(option):
            env[variable] = str(settings_dict["OPTIONS"][option])
    return args, env


def pg_connect(settings_dict: dict, **extra):
    """A psycopg connection from a Django settings dict."""
    import psycopg

    params = {
        "dbname": settings_dict.get("NAME") or "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key not in DJANGO_ONLY_PG_OPTIONS:
            params[key] = value
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, **extra)


@contextmanager
def pg_snapshot(settings_dict: dict):
    """Yield ``(snapshot id, inventory)`` of one REPEATABLE READ snapshot, kept open inside the block."""
    import psycopg

    conn = pg_connect(settings_dict)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            inventory = take_inventory(cursor, "postgresql")
        yield snapshot, inventory
    finally:
        conn.rollback()
        conn.close()


def pg_dump_process(settings_dict: dict, snapshot: str, stderr) -> subprocess.Popen:
    """Start ``pg_dump --format=custom --no-owner`` of ``snapshot``, writing the dump to its stdout."""
    args, env = pg_arguments(settings_dict)
    command = [
        pg_tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--compress=0",  # the backup stream is compressed once, before encryption
        f"--snapshot={snapshot}",
        *args,
        "--",
        str(settings_dict["NAME"]),
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env)  # noqa: S603 - no shell


def pg_restore(settings_dict: dict, dump: Path) -> None:
    """``pg_restore --clean --if-exists --no-owner`` of ``dump`` into the database, in one transaction."""
    args, env = pg_arguments(settings_dict)
    command = [
        pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",  # all or nothing: a failed restore leaves the target as it was
        *args,
        "--dbname",
        str(settings_dict["NAME"]),
        str(dump),
    ]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, capture_output=True, env=env, timeout=TOOL_TIMEOUT, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise ValidationError(
            f"pg_restore 失败（退出码 {result.returncode}），目标数据库已回滚到恢复前的状态：{detail}",
            code="pg_restore",
        )


def pg_user_table_count(settings_dict: dict) -> int:
    """Number of user tables in the target database, or a clear refusal when it cannot be reached."""
    import psycopg

    try:
        conn = pg_connect(settings_dict, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        name = settings_dict.get("NAME")
        raise ValidationError(
            f"无法连接目标数据库 {name}：{str(error).strip()}。目标数据库必须事先建好（例如 createdb {name}）。",
            code="target_missing",
        ) from error
    try:
        with conn.cursor() as cursor:
            return table_count(cursor, "postgresql")
    finally:
        conn.close()


# --- target databases ----------------------------------------------------------------------------


def target_settings(url: str | None, alias: str = "default") -> dict:
    """A full Django settings dict for the restore target: ``url`` if given, else ``alias``'s database."""
    base = copy.deepcopy(connections[alias].settings_dict)
    if not url:
        return base
    try:
        parsed = dj_database_url.parse(url)
    except ValueError as error:
        raise ValidationError(f"无法识别目标数据库地址：{error}", code="target_url") from error
    base_vendor, vendor = vendor_of(base), vendor_of(parsed)
    if vendor != base_vendor:
        base["OPTIONS"] = {}
    for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT"):
        base[key] = parsed.get(key) or ""
    if parsed.get("OPTIONS"):
        base["OPTIONS"] = {**base.get("OPTIONS", {}), **parsed["OPTIONS"]}
    base["TEST"] = {**base.get("TEST", {}), "NAME": None}
    return base


@contextmanager
def temporary_connection(settings_dict: dict):
    """A Django connection alias for ``settings_dict`` that exists only inside the block.

    The wrapper is registered in ``connections`` without an entry in ``settings.DATABASES``: the
    configured databases stay as they are, and Django's test isolation treats it as a connection
    created at run time.
    """
    alias = f"backups_{uuid.uuid4().hex[:12]}"
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(copy.deepcopy(settings_dict), alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        try:
            wrapper.close()
        finally:
            del connections[alias]
