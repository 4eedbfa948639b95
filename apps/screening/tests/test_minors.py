"""S-CLIENT-4 in screening: a new person under 14 is registered only with a consenting guardian."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from apps.clients.models import Client, Guardian
from apps.clients.services import do_register_minor_aware
from apps.core.scoping import unscoped
from apps.screening import importer, services
from apps.screening.models import ImportBatch, ScreeningRecord

from .factories import person_row, workbook_bytes

CHILD_ID = "330102201801013334"  # born 2018-01-01
GUARDIAN = {"name": "李母", "relationship": "母亲", "phone": "13700137000", "consent": True}
SCREENING = {"screened_on": dt.date(2026, 3, 5), "source": "routine", "risk_level": "low", "finding": ""}


pytestmark = pytest.mark.usefixtures("immediate_imports")


def counts():
    with unscoped("test assertion"):
        return Client.objects.count(), ScreeningRecord.objects.count(), Guardian.objects.count()


def test_screening_service_refuses_a_new_child_without_guardian(tree, worker):
    """S-CLIENT-4: a screened person under 14 not yet registered needs a guardian (name, relationship,
    phone) and the guardian's consent; with them the guardian and consent are saved as on registration."""
    person = {"name": "王小明", "birth_date": dt.date(2019, 4, 1)}
    with pytest.raises(ValidationError, match="监护人"):
        services.do_record_screening(actor=worker, unit=tree.c1, screening=SCREENING, person=person)
    with pytest.raises(ValidationError, match="监护人同意"):
        services.do_record_screening(
            actor=worker, unit=tree.c1, screening=SCREENING, person=person, guardian={**GUARDIAN, "consent": False}
        )
    assert counts() == (0, 0, 0)
    record = services.do_record_screening(
        actor=worker, unit=tree.c1, screening=SCREENING, person=person, guardian=GUARDIAN
    )
    guardian = Guardian.objects.get(client_id=record.client_id)
    assert guardian.relationship == "母亲" and guardian.consent_given_at and guardian.consent_notice_version


def test_screening_form_asks_for_the_guardian(tree, worker):
    """S-CLIENT-4: /screening/new/ shows the guardian fields and refuses a child born 2019 without them."""
    http = HttpClient()
    http.force_login(worker)
    form = http.get("/screening/new/").content.decode()
    for field in ("guardian_name", "guardian_relationship", "guardian_phone", "guardian_consent"):
        assert f'name="{field}"' in form
    base = {"unit": tree.c1.pk, "name": "王小明", "gender": "male", "birth_date": "2019-04-01",
            "screened_on": "2026-03-05", "source": "routine", "risk_level": "low"}  # fmt: skip
    page = http.post("/screening/new/", base).content.decode()
    assert "请填写监护人姓名" in page and counts() == (0, 0, 0)
    full = {**base, "guardian_name": "王父", "guardian_relationship": "父亲", "guardian_phone": "13700137001",
            "guardian_consent": "on"}  # fmt: skip
    assert http.post("/screening/new/", full).status_code == 302
    assert counts() == (1, 1, 1)


def test_linking_a_registered_child_stays_allowed(tree, worker):
    """S-CLIENT-4: a child already in the register (with guardian) is linked without asking again."""
    child = do_register_minor_aware(
        actor=None, unit=tree.c1, data={"name": "李小宝", "id_number": CHILD_ID}, guardian=GUARDIAN
    )
    record = services.do_record_screening(actor=worker, unit=tree.c1, screening=SCREENING, client=child)
    assert record.client_id == child.pk


def _validate(batch, content: bytes):
    (services.upload_dir() / batch.stored_name).write_bytes(content)
    progress = importer.Progress(batch)
    try:
        with unscoped("the background job runs unscoped"):
            return importer.validate_file(batch, progress)
    finally:
        progress.close()


def _batch(unit, user, name="kids.xlsx"):
    with unscoped("test setup"):
        return ImportBatch.objects.create(
            unit=unit, unit_path=unit.path, scope_path=unit.path, uploaded_by=user, file_name=name, stored_name=name
        )


def test_import_refuses_new_children_and_links_registered_ones(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-4: an import row that would register a new person under 14 (by ID number or birth date)
    is a row error — the template has no guardian columns; a registered child is linked as before."""
    rows = [
        person_row(0),
        person_row(1, name="李小宝", id_number=CHILD_ID),
        person_row(2, name="王小明", id_number="", birth_date="2019-04-01"),
    ]
    table, errors = _validate(_batch(tree.c1, worker), workbook_bytes(rows))
    message = "未满 14 周岁，请逐个登记并填写监护人及其同意。"
    assert errors == [
        {"row": 3, "column": "出生日期", "message": message},
        {"row": 4, "column": "出生日期", "message": message},
    ]
    # Through the real upload (COPY on PostgreSQL, bulk_create elsewhere): nothing is written.
    http = HttpClient()
    http.force_login(worker)
    with django_capture_on_commit_callbacks(execute=True):
        http.post("/screening/imports/", {"unit": tree.c1.pk, "file": _upload(workbook_bytes(rows))})
    with unscoped("test assertion"):
        batch = ImportBatch.objects.order_by("-pk").first()
    assert batch.status == "failed" and counts() == (0, 0, 0)
    # Once the child is registered with a guardian, the same row links to the record.
    child = do_register_minor_aware(
        actor=None, unit=tree.c1, data={"name": "李小宝", "id_number": CHILD_ID}, guardian=GUARDIAN
    )
    table, errors = _validate(_batch(tree.c1, worker, "again.xlsx"), workbook_bytes(rows[:2]))
    assert errors == [] and table.client_id[1] == child.pk


def test_import_age_limit_is_14_full_years(tree, worker):
    """S-CLIENT-4: a person whose 14th birthday is today is no longer under 14 and imports as usual.

    The clock is frozen on an ordinary day (issue 12 item 1): on 02-29 nobody born 14 years ago has a birthday."""
    from zoneinfo import ZoneInfo

    import time_machine
    from django.utils import timezone

    with time_machine.travel(dt.datetime(2026, 3, 4, 10, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        today = timezone.localdate()
        born = today.replace(year=today.year - 14)
        rows = [person_row(0, name="周十四", id_number="", birth_date=born.isoformat())]
        _table, errors = _validate(_batch(tree.c1, worker), workbook_bytes(rows))
    assert errors == []


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("kids.xlsx", content)
