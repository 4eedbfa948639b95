"""Bulk exports: permission per format, reason, re-authentication, scope, encrypted archive, purge."""

import io
import time
from datetime import timedelta

import pytest
import pyzipper
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from apps.audit.models import AuditEntry
from apps.exports import services
from apps.exports.models import ExportJob
from apps.exports.testing import fresh_client
from conftest import make_user


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


def request_export(client, fmt="xlsx", dataset="users", reason="季度人员名单报送区卫健局", capture=None):
    with capture(execute=True):
        response = client.post(f"/exports/new/{fmt}/{dataset}/", {"reason": reason})
    return response


def test_export_needs_reauthentication(tree, street_manager):
    """Exports ask for the password again."""
    client = Client()
    client.force_login(street_manager)  # a login counts as a fresh authentication …
    session = client.session
    session["xinyuan_reauth_at"] = int(time.time()) - 6 * 60  # … that was six minutes ago
    session.save()
    response = client.get("/exports/new/xlsx/users/")
    assert response.status_code == 302 and response.url.startswith("/accounts/reauth/")


def test_permission_per_format(tree, counsellor_a, street_manager):
    assert fresh_client(counsellor_a).get("/exports/new/xlsx/users/").status_code == 403
    assert fresh_client(street_manager).get("/exports/new/csv/users/").status_code == 200
    assert fresh_client(street_manager).get("/exports/new/xlsx/nonsense/").status_code == 404


def test_reason_is_required(tree, street_manager, django_capture_on_commit_callbacks):
    client = fresh_client(street_manager)
    response = request_export(client, reason="短", capture=django_capture_on_commit_callbacks)
    assert "至少" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_archive_is_encrypted_scoped_and_password_never_stored(
    tree, street_manager, counsellor_a, counsellor_b, outsider, django_capture_on_commit_callbacks
):
    """The archive opens only with the one-time password and holds only the exporter's subtree."""
    make_user("sibling_street_user", tree.s2, "counsellor")
    client = fresh_client(street_manager)
    response = request_export(client, capture=django_capture_on_commit_callbacks)
    page = response.content.decode()
    job = ExportJob.objects.get()
    password = page.split('data-testid="export-password">')[1].split("<")[0]
    assert len(password) >= 12
    assert job.status == "ready" and job.row_count == 3  # street manager, counsellor_a, counsellor_b
    # never stored: not on the job, not in the audit log
    assert password not in str(ExportJob.objects.values().get())
    assert not any(password in str(e) for e in AuditEntry.objects.values())
    path = services.archive_path(job)
    with pyzipper.AESZipFile(path) as archive:
        name = archive.namelist()[0]
        with pytest.raises(RuntimeError):
            archive.read(name, pwd=b"wrong-password")
        data = archive.read(name, pwd=password.encode())
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    usernames = {row[0] for row in rows[1:]}
    assert usernames == {"street_manager", "counsellor_a", "counsellor_b"}
    assert "outsider" not in usernames and "sibling_street_user" not in usernames
    assert AuditEntry.objects.filter(action="export").count() == 1


def test_csv_export_opens_in_excel(tree, street_manager, django_capture_on_commit_callbacks):
    client = fresh_client(street_manager)
    page = request_export(client, fmt="csv", capture=django_capture_on_commit_callbacks).content.decode()
    password = page.split('data-testid="export-password">')[1].split("<")[0]
    job = ExportJob.objects.get()
    with pyzipper.AESZipFile(services.archive_path(job)) as archive:
        data = archive.read(archive.namelist()[0], pwd=password.encode())
    assert data.startswith("\ufeff登录名".encode())


def test_only_the_requester_downloads_and_expired_files_are_purged(
    tree, street_manager, district_admin, django_capture_on_commit_callbacks
):
    client = fresh_client(street_manager)
    request_export(client, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert fresh_client(district_admin).post(f"/exports/{job.pk}/download/").status_code == 404
    response = client.post(f"/exports/{job.pk}/download/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert AuditEntry.objects.filter(action="export").count() == 2
    path = services.archive_path(job)
    assert services.purge_expired(now=timezone.now() + timedelta(days=8)) == 1
    assert not path.exists()
    job.refresh_from_db()
    assert job.status == "purged"
    assert client.post(f"/exports/{job.pk}/download/").status_code == 302


def test_export_stops_when_the_grant_changed(tree, street_manager, django_capture_on_commit_callbacks):
    """A job built after the requester lost the role writes nothing."""
    street_manager.active_assignment_id = None
    job, password = services.do_request_export(
        actor=street_manager, dataset_key="users", fmt="xlsx", reason="测试岗位变化后的导出"
    )
    street_manager.assignments.all().delete()
    job = services.build_export(job.pk)
    assert job.status == "failed" and "岗位或权限已变化" in job.error
    assert not job.file_name


def test_list_export_buttons_follow_permissions_and_carry_filters(tree, street_manager):
    """X-3: a list shows its export buttons only to a grant that may export it, with the list's filters."""
    html = fresh_client(street_manager).get("/accounts/users/?q=counsellor&status=active&after=5").content.decode()
    assert 'data-testid="export-users-xlsx"' in html
    assert "/exports/new/xlsx/users/?q=counsellor&amp;status=active" in html
    assert "after=5" not in html.split('data-testid="export-users-xlsx"')[0].rsplit("<a", 1)[1]
    volunteer = make_user("export_volunteer", tree.s1, "volunteer")
    assert "export-users" not in fresh_client(volunteer).get("/").content.decode()


def test_the_list_filters_reach_the_dataset(tree, street_manager, django_capture_on_commit_callbacks):
    """X-3: the export holds the same rows the filtered list shows; paging parameters are dropped."""
    client = fresh_client(street_manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/exports/new/xlsx/users/?q=counsellor_a&after=3", {"reason": "核对咨询师名单"})
    assert ExportJob.objects.get().filters == {"q": "counsellor_a"}
