"""Test helpers for exportable lists (X-3), shared by every module's ``tests/test_exports.py``.

``immediate_exports`` (a fixture in the root conftest) runs export jobs at once in a private folder;
these helpers ask for an export the way the list's button does and read back what arrived.
"""

import io
import time

import pyzipper
from django.test import Client as HttpClient
from openpyxl import load_workbook

from .models import ExportJob
from .registry import get_dataset
from .services import archive_path

REASON = "季度名单报送区卫健局"


def fresh_client(user) -> HttpClient:
    """A browser session of ``user`` that has just re-authenticated (exports ask for it)."""
    http = HttpClient()
    http.force_login(user)
    session = http.session
    session["xinyuan_reauth_at"] = int(time.time())
    session.save()
    return http


def export_rows(key: str, user, **filters) -> list[tuple]:
    """The dataset's rows for ``user`` (as the background job runs them); every row fills every column."""
    dataset = get_dataset(key)
    rows = list(dataset.rows(user, filters))
    assert all(len(row) == len(dataset.columns) for row in rows)
    return rows


def export_through_http(http, capture, dataset: str, query: str = "", fmt: str = "xlsx", reason: str = REASON):
    """POST the export request as the list's button would; return the rows of the decrypted file.

    ``capture`` is pytest-django's ``django_capture_on_commit_callbacks`` (the job is queued on commit).
    """
    with capture(execute=True):
        response = http.post(f"/exports/new/{fmt}/{dataset}/{query}", {"reason": reason})
    password = response.content.decode().split('data-testid="export-password">')[1].split("<")[0]
    job = ExportJob.objects.latest("id")
    assert job.status == "ready", job.error
    with pyzipper.AESZipFile(archive_path(job)) as archive:
        data = archive.read(archive.namelist()[0], pwd=password.encode())
    if fmt == "csv":
        return data
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
