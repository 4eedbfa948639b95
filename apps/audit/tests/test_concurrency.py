import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from apps.audit.choices import AuditAction
from apps.audit.models import AuditEntry
from apps.audit.services import log_event
from apps.audit.verification import verify_chain

ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
BASE_DIR = Path(settings.BASE_DIR)


@pytest.mark.skipif(ON_SQLITE, reason="the in-memory test database cannot be shared by writer threads")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain_postgresql():
    """X-4: eight threads writing at once on PostgreSQL produce one gapless, valid chain."""
    threads, errors, per_thread = 8, [], 25
    barrier = threading.Barrier(threads)

    def work(n):
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    log_event(actor=None, action=AuditAction.OTHER, label=f"线程{n}-{i}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, threads * per_thread + 1)
    )
    assert verify_chain().ok


WRITER = """
import pathlib, time
from django.db import transaction
from apps.audit.services import log_event
folder = pathlib.Path({folder!r})
(folder / "ready-{n}").touch()
while not (folder / "go").exists():  # start together: Django is loaded in every process by now
    time.sleep(0.005)
started = time.time()
for i in range({count}):
    with transaction.atomic():
        log_event(actor=None, action="other", label="进程{n}-" + str(i))
(folder / "span-{n}").write_text(f"{{started}} {{time.time()}}")
"""


@pytest.mark.skipif(not ON_SQLITE, reason="the PostgreSQL run covers concurrency with threads")
def test_concurrent_writer_processes_keep_one_chain_sqlite(tmp_path):
    """X-4: four processes writing at once to one SQLite file (WAL, BEGIN IMMEDIATE) keep one valid chain."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(XINYUAN_VAR_DIR=str(tmp_path), AUDIT_HEAD_FILE=str(tmp_path / "head.json"))
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    run = {"cwd": BASE_DIR, "env": env, "capture_output": True, "text": True, "timeout": 300}
    migrated = subprocess.run([*manage, "migrate", "--noinput"], check=False, **run)  # noqa: S603
    assert migrated.returncode == 0, migrated.stderr
    procs, count = 4, 150
    writers = [
        subprocess.Popen(  # noqa: S603
            [*manage, "shell", "-c", WRITER.format(count=count, n=n, folder=str(tmp_path))],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(procs)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < procs and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for writer in writers:
        _out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    verified = subprocess.run([*manage, "verify_audit"], check=False, **run)  # noqa: S603
    assert verified.returncode == 0, verified.stderr
    assert f"共 {procs * count} 条" in verified.stdout
    assert (tmp_path / "head.json").exists()
    spans = [tuple(map(float, (tmp_path / f"span-{n}").read_text().split())) for n in range(procs)]
    assert max(start for start, _ in spans) < min(end for _, end in spans), "the writers did not run at the same time"
