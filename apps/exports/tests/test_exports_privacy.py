"""Issue 14 item 6: an export's filters are stored encrypted and its archive password never passes
through the task queue (huey keeps task arguments in clear in its SQLite file or Redis)."""

import json

import pytest
import pyzipper
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

from apps.exports import services
from apps.exports.models import ExportJob
from apps.exports.testing import fresh_client

CANARY_ID = "33010619880808886X"
CANARY_PHONE = "13988668866"
REASON = "核对名单用于季度报送"


def raw_job_row(pk: int) -> dict:
    """The job's columns as the database holds them (no field decrypts anything)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM exports_exportjob WHERE id = %s", [pk])
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


@pytest.fixture
def queued_tasks(tmp_path):
    """Huey in normal (queueing) mode on a SQLite file of this test's own; yields the file's path."""
    previous_immediate, previous_storage = HUEY.immediate, HUEY.storage
    HUEY.immediate = False
    HUEY.storage = SqliteStorage(HUEY.name, filename=str(tmp_path / "queue.sqlite3"))
    yield tmp_path / "queue.sqlite3"
    HUEY.storage.close()
    HUEY.storage = previous_storage
    HUEY.immediate = previous_immediate


def test_filters_are_stored_encrypted(tree, street_manager, immediate_exports, django_capture_on_commit_callbacks):
    """X-3, X-4, issue 14 item 6: the search text of the exported list is ciphertext in the job's row."""
    client = fresh_client(street_manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/exports/new/csv/users/?q={CANARY_ID}&phone={CANARY_PHONE}&after=3", {"reason": REASON})
    job = ExportJob.objects.get()
    assert job.filters == {"q": CANARY_ID, "phone": CANARY_PHONE} and job.status == "ready"
    row = raw_job_row(job.pk)
    assert "filters" not in row and row["filters_encrypted"].startswith("v1:")
    assert row["reason"] == REASON, "plain columns are read as stored: the check would see plaintext"
    assert [c for c in (CANARY_ID, CANARY_PHONE) if any(c in str(value) for value in row.values())] == []


@pytest.mark.django_db(transaction=True)  # the worker's task wrapper closes the connection after a queued task
def test_password_travels_encrypted_on_the_row_not_through_the_queue(
    tree, street_manager, queued_tasks, settings, tmp_path, django_capture_on_commit_callbacks
):
    """X-3, issue 14 item 6: the task carries only the job's id; the worker takes and wipes the password."""
    settings.EXPORT_DIR = str(tmp_path / "exports")
    client = fresh_client(street_manager)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/exports/new/xlsx/users/?q={CANARY_ID}", {"reason": REASON}).content.decode()
    password = page.split('data-testid="export-password">')[1].split("<")[0]
    job = ExportJob.objects.get()
    [task] = HUEY.pending()
    assert task.name.endswith("build_export_task") and task.args == (job.pk,) and task.kwargs == {}
    queue = b"".join(path.read_bytes() for path in queued_tasks.parent.glob(queued_tasks.name + "*"))  # with -wal
    assert b"build_export_task" in queue, "the queue file must hold the task, or the check proves nothing"
    assert password.encode() not in queue and CANARY_ID.encode() not in queue
    row = raw_job_row(job.pk)
    assert row["archive_secret"].startswith("v1:") and password not in str(row)
    assert job.archive_secret == password  # the hand-off the worker reads

    HUEY.execute(HUEY.dequeue())
    job.refresh_from_db()
    assert job.status == "ready" and job.archive_secret == "" and raw_job_row(job.pk)["archive_secret"] == ""
    with pyzipper.AESZipFile(services.archive_path(job)) as archive:
        assert archive.read(archive.namelist()[0], pwd=password.encode())


def test_the_password_is_wiped_when_the_build_fails_and_a_second_run_does_nothing(tree, street_manager):
    """X-3, issue 14 item 6: a failed build wipes the password too; a job cannot be built twice."""
    street_manager.active_assignment_id = None
    job, _password = services.do_request_export(actor=street_manager, dataset_key="users", fmt="xlsx", reason=REASON)
    street_manager.assignments.all().delete()
    job = services.build_export(job.pk)
    assert job.status == "failed" and job.archive_secret == ""
    assert services.build_export(job.pk).status == "failed"


def test_a_job_without_its_password_fails_instead_of_inventing_one(tree, street_manager):
    """X-3, issue 14 item 6: a task queued before the change (no password on the row) fails with a clear message."""
    street_manager.active_assignment_id = None
    job, _password = services.do_request_export(actor=street_manager, dataset_key="users", fmt="xlsx", reason=REASON)
    ExportJob.objects.filter(pk=job.pk).update(archive_secret="")
    job = services.build_export(job.pk)
    assert job.status == "failed" and "请重新申请导出" in job.error and not job.file_name


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_the_filters_of_existing_jobs(tree, street_manager):
    """X-4, issue 14 item 6: the migration moves existing rows' plaintext filters into the encrypted column."""
    executor = MigrationExecutor(connection)
    executor.migrate([("exports", "0001_initial")])
    old_state = executor.loader.project_state([("exports", "0001_initial")])
    OldJob = old_state.apps.get_model("exports", "ExportJob")
    from django.utils import timezone

    old = OldJob.objects.create(
        requested_by_id=street_manager.pk,
        unit_id=tree.s1.pk,
        unit_path=tree.s1.path,
        dataset="users",
        format="csv",
        reason=REASON,
        filters={"q": CANARY_ID},
        expires_at=timezone.now(),
    )
    empty = OldJob.objects.create(
        requested_by_id=street_manager.pk,
        unit_id=tree.s1.pk,
        unit_path=tree.s1.path,
        dataset="users",
        format="csv",
        reason=REASON,
        expires_at=timezone.now(),
    )
    assert CANARY_ID in str(raw_job_row(old.pk)), "before the migration the filter is plaintext"
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    row = raw_job_row(old.pk)
    assert "filters" not in row and row["filters_encrypted"].startswith("v1:") and CANARY_ID not in str(row)
    assert ExportJob.objects.get(pk=old.pk).filters == {"q": CANARY_ID}
    assert ExportJob.objects.get(pk=empty.pk).filters == {} and raw_job_row(empty.pk)["filters_encrypted"] == ""
    assert json.loads(ExportJob.objects.get(pk=old.pk).filters_encrypted) == {"q": CANARY_ID}
