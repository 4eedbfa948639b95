"""Fixtures shared by the screening tests: imports run at once, into a private upload folder."""

import queue
import threading
import time

import pytest
from django.db import connections
from huey.consumer import Worker
from huey.contrib.djhuey import HUEY
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

from conftest import make_user


@pytest.fixture
def immediate_imports(settings, tmp_path):
    """Uploaded files go to a temporary folder and the background import runs inside the request."""
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


@pytest.fixture
def worker(tree):
    return make_user("worker", tree.c1, "community_worker", full_name="社区专干")


class _Worker(Worker):
    """huey's own consumer worker (dequeue, execute, signals), sleeping with ``time.sleep`` between polls:
    huey's ``Event.wait(timeout)`` never returns under faketime (a timed wait's deadline is computed on the
    faked clock), and the suite must pass under faketime (issue 12 item 1)."""

    def sleep(self):
        time.sleep(min(self.delay, self.max_delay))
        self.delay = min(self.delay * self.backoff, self.max_delay)


@pytest.fixture
def huey_consumer(settings, tmp_path):
    """A real huey worker thread (``huey.consumer.Worker``, what ``manage.py run_huey`` runs in each worker
    thread) serving the private test queue: tasks are enqueued, not run inline. ``wait(batch_id)`` blocks
    until the worker has finished the import task of that batch (huey's completion/error signals)."""
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    previous = HUEY.immediate
    HUEY.immediate = False
    finished: queue.Queue = queue.Queue()

    def on_finish(signal_name, task, *args, **kwargs):
        finished.put((signal_name, task.name, tuple(task.args)))

    HUEY.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(on_finish)
    stop = threading.Event()
    worker = _Worker(HUEY, stop, default_delay=0.05, max_delay=0.2, backoff=1.2)

    def serve():
        worker.initialize()
        while not stop.is_set():
            worker.loop()
        worker.shutdown()
        connections.close_all()  # this thread's connections (CONN_MAX_AGE keeps them), before the test DB goes

    thread = threading.Thread(target=serve, name="huey-test-worker", daemon=True)
    thread.start()

    def wait(batch_id: int, timeout: float = 180) -> str:
        while True:
            signal_name, name, args = finished.get(timeout=timeout)
            if name.endswith("import_screening_task") and args == (batch_id,):
                return signal_name

    try:
        yield wait
    finally:
        stop.set()
        thread.join()
        HUEY.disconnect_signal(on_finish)
        HUEY.immediate = previous
