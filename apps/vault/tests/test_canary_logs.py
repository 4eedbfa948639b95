"""Canary tests beyond the database (issue 14 item 6): a canary ID number and phone are searched for
in the gunicorn access log, the huey task store (SQLite and Redis), the export jobs and the console
SMS backend's standard output. Each check carries a control proving it would see plaintext."""

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.db import transaction
from gunicorn.config import Config
from gunicorn.glogging import Logger
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

from apps.exports.models import ExportJob
from apps.exports.testing import fresh_client
from apps.notifications.services import notify_contact
from xinyuan.gunicorn_logging import RedactingLogger, redact_uri, redact_url

from .test_canary import CANARY_ID, CANARY_NAME, CANARY_PHONE, database_bytes

ROOT = Path(__file__).resolve().parents[3]
CANARY_CODE = "886613"  # a one-time code in an SMS text
CANARIES = [CANARY_ID, CANARY_PHONE, CANARY_NAME, CANARY_CODE]
REASON = "对照明文-CONTROL-季度名单报送"
REDIS_URL = "redis://127.0.0.1:6379/9"  # this helper's Redis database


def leaked(text) -> list[str]:
    if isinstance(text, bytes):
        return [canary for canary in CANARIES if canary.encode("utf-8") in text]
    return [canary for canary in CANARIES if canary in text]


# --- gunicorn access log -------------------------------------------------------------------------


def test_redaction_masks_every_query_value_and_keeps_the_path():
    """X-4, issue 14 item 6: query values and referer queries are masked, odd names too; paths stay."""
    assert redact_uri(f"/clients/?q={CANARY_ID}&page=2#x") == "/clients/?q=*&page=*"
    assert redact_uri(f"/clients/?{CANARY_PHONE}&x&q{CANARY_PHONE}=1") == "/clients/?*=*&x=*&*=*"
    assert redact_uri("/clients/?%E5%BC%A0=1") == "/clients/?*=*"
    assert redact_uri("/clients/") == "/clients/"
    assert redact_url(f"https://u:pw@xy.example:8443/c/?q={CANARY_PHONE}#f") == "https://xy.example:8443/c/?q=*"


def fake_request(query: str):
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/clients/?{query}",
        "PATH_INFO": "/clients/",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"http://127.0.0.1/clients/?{query}",
    }
    headers = [("REFERER", environ["HTTP_REFERER"])]
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    return response, SimpleNamespace(headers=headers), environ


def test_the_logger_class_removes_what_gunicorns_own_logger_writes():
    """X-4, issue 14 item 6: control — gunicorn's own atoms hold the canary, RedactingLogger's do not."""
    config = Config()
    response, request, environ = fake_request(f"q={CANARY_ID}&phone={CANARY_PHONE}")
    plain = Logger(config).atoms(response, request, environ, timedelta(seconds=0))
    assert leaked(str(plain)) == [CANARY_ID, CANARY_PHONE]
    redacted = RedactingLogger(config).atoms(response, request, environ, timedelta(seconds=0))
    assert leaked(str(redacted)) == []
    assert redacted["r"] == "GET /clients/?q=*&phone=* HTTP/1.1" and redacted["U"] == "/clients/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def test_gunicorn_access_log_holds_no_canary(tmp_path):
    """X-4, S-PRIN-3, issue 14 item 6: a real gunicorn, run with bin/serve's logger, logs ?q= searches masked."""
    serve = (ROOT / "bin" / "serve").read_text(encoding="utf-8")
    assert "--logger-class xinyuan.gunicorn_logging.RedactingLogger" in serve
    port = free_port()
    access_log = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XINYUAN_", "DATABASE_URL", "DEBUG"))}
    env.update(
        DEBUG="0",
        XINYUAN_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_SETTINGS_MODULE="xinyuan.settings",
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "xinyuan.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--access-logfile",
        str(access_log),
        "--error-logfile",
        str(tmp_path / "error.log"),
        "--logger-class",
        "xinyuan.gunicorn_logging.RedactingLogger",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - fixed argv, no shell
    try:
        wait_for(port, process)
        for path in (f"/clients/?q={CANARY_ID}", f"/api/clients/?search={CANARY_PHONE}&name={quote(CANARY_NAME)}"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Referer": f"http://127.0.0.1:{port}{path}"})
            conn.getresponse().read()
            conn.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and access_log.read_text(encoding="utf-8").count("\n") < 2:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    log = access_log.read_text(encoding="utf-8")
    assert "GET /clients/?q=* HTTP/1.1" in log and "/api/clients/?search=*&name=*" in log, log
    assert leaked(log) == [] and quote(CANARY_NAME) not in log


# --- huey store, export jobs ----------------------------------------------------------------------


def redis_values(storage: RedisStorage) -> bytes:
    """Every value huey keeps in Redis under this storage's name (queue, schedule, results)."""
    conn = storage.conn
    chunks = []
    for key in conn.scan_iter(match=f"*{storage.name}*"):
        kind = conn.type(key)
        if kind == b"list":
            chunks += conn.lrange(key, 0, -1)
        elif kind == b"zset":
            chunks += conn.zrange(key, 0, -1)
        elif kind == b"hash":
            for field, value in conn.hgetall(key).items():
                chunks += [field, value]
        elif kind == b"string":
            chunks.append(conn.get(key))
    return b"\n".join(chunks)


@pytest.fixture(params=["sqlite", "redis"])
def task_store(request, tmp_path):
    """Huey in queueing mode on a store of this test's own: a SQLite file, or Redis database 9."""
    previous_immediate, previous_storage = HUEY.immediate, HUEY.storage
    HUEY.immediate = False
    if request.param == "sqlite":
        path = tmp_path / "huey.sqlite3"
        HUEY.storage = SqliteStorage(HUEY.name, filename=str(path))

        def read() -> bytes:
            return b"".join(p.read_bytes() for p in tmp_path.glob("huey.sqlite3*"))  # the -wal file too

    else:
        storage = RedisStorage(f"canary-{uuid.uuid4().hex[:8]}", url=REDIS_URL, blocking=False)
        try:
            storage.conn.ping()
        except Exception as exc:  # noqa: BLE001 - no Redis here: the SQLite run still covers the path
            pytest.skip(f"Redis not available at {REDIS_URL}: {exc}")
        HUEY.storage = storage

        def read() -> bytes:
            return redis_values(storage)

    yield read
    if request.param == "redis":
        HUEY.storage.flush_all()
    HUEY.storage = previous_storage
    HUEY.immediate = previous_immediate


@pytest.mark.django_db(transaction=True)
def test_task_store_and_export_rows_hold_no_canary(tree, street_manager, task_store, settings, tmp_path):
    """X-4, S-PRIN-3, issue 14 item 6: an export of a canary search and an SMS to a canary phone leave
    neither in the huey store (queued, then run with results kept) nor in the export job's row."""
    settings.EXPORT_DIR = str(tmp_path / "exports")
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"
    client = fresh_client(street_manager)
    page = client.post(
        f"/exports/new/csv/users/?q={CANARY_ID}&phone={CANARY_PHONE}&name={CANARY_NAME}", {"reason": REASON}
    ).content.decode()
    password = page.split('data-testid="export-password">')[1].split("<")[0]
    with transaction.atomic():
        notify_contact(template="generic", context={"title": "测试通知"}, phone=CANARY_PHONE)
    queued = task_store()
    assert b"build_export_task" in queued and b"send_delivery" in queued, "the store must hold both tasks"
    assert leaked(queued) == [] and password.encode() not in queued

    while (task := HUEY.dequeue()) is not None:
        HUEY.execute(task)
    job = ExportJob.objects.get()
    assert job.status == "ready" and job.filters["q"] == CANARY_ID
    after_run = task_store()
    assert leaked(after_run) == [] and password.encode() not in after_run

    data = database_bytes(tmp_path)
    assert REASON.encode() in data, "plaintext in a plain column must be visible to this check"
    assert leaked(data) == [] and password.encode() not in data


# --- console SMS backend -------------------------------------------------------------------------


def test_console_sms_stdout_holds_no_canary(db, settings, capfd, django_capture_on_commit_callbacks):
    """X-7, S-PRIN-3, issue 14 item 6: an SMS to a canary phone, its text carrying an ID and a code,
    reaches standard output masked."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.ConsoleSmsBackend"
    previous, HUEY.immediate = HUEY.immediate, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            notify_contact(
                template="generic", context={"title": f"验证码{CANARY_CODE}，证件{CANARY_ID}"}, phone=CANARY_PHONE
            )
    finally:
        HUEY.immediate = previous
    out = capfd.readouterr().out
    assert "[短信] 139****8866 验证码******" in out, "the console line must have been captured"
    assert leaked(out) == []
