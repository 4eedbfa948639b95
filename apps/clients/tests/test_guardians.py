"""Guardians on the client's page (issue 13 item 3): added, changed or ended at any time, with the
guardian's consent recorded (who, when, how), audited, scoped; a refusal changes nothing."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.clients import services
from apps.clients.models import Guardian

GUARDIAN = {
    "name": "周丽",
    "relationship": "母亲",
    "phone": "13900139001",
    "consent": True,
    "consent_method": "in_person",
}


@pytest.fixture
def teenager(tree):
    """A 15- or 16-year-old registered without a guardian (allowed from 14), whatever today is."""
    birth = timezone.localdate() - datetime.timedelta(days=16 * 365)
    return services.do_register_minor_aware(actor=None, unit=tree.c1, data={"name": "周小舟", "birth_date": birth})


def written(client):
    """Guardian rows of ``client`` and guardian audit rows: what a refusal must leave unchanged."""
    return (
        Guardian.objects.filter(client=client).count(),
        AuditEntry.objects.filter(object_type="clients.guardian").count(),
    )


def test_guardian_is_added_later_with_consent_who_when_how(teenager, counsellor_a):
    """S-CLIENT-4: a guardian is added after registration with the guardian's consent (when, how, notice)."""
    assert not teenager.guardians.exists()
    before = written(teenager)
    refusals = [
        ({**GUARDIAN, "consent": False}, "consent"),
        ({**GUARDIAN, "consent_method": ""}, "consent_method"),
        ({**GUARDIAN, "phone": "123"}, "phone"),
        ({**GUARDIAN, "name": " "}, "name"),
        ({**GUARDIAN, "consent_given_at": timezone.now() + datetime.timedelta(hours=1)}, "consent_given_at"),
    ]
    for data, field in refusals:
        with pytest.raises(ValidationError) as refused:
            services.do_add_guardian(actor=counsellor_a, client=teenager, data=data)
        assert field in refused.value.error_dict, field
    assert written(teenager) == before
    signed = timezone.now() - datetime.timedelta(days=1)
    guardian = services.do_add_guardian(
        actor=counsellor_a, client=teenager, data={**GUARDIAN, "consent_given_at": signed}
    )
    guardian.refresh_from_db()
    assert (guardian.name, guardian.phone, guardian.consent_method) == ("周丽", "+8613900139001", "in_person")
    assert guardian.consent_given_at == signed and guardian.consent_notice_version
    assert guardian.recorded_by_id == counsellor_a.pk and guardian.ended_at is None
    assert services.has_consenting_guardian(teenager)
    entry = AuditEntry.objects.get(object_type="clients.guardian", object_id=str(guardian.pk))
    assert entry.action == "create" and entry.actor_id == counsellor_a.pk
    with pytest.raises(ValidationError, match="已登记为本来访者的监护人"):
        services.do_add_guardian(actor=counsellor_a, client=teenager, data=GUARDIAN)


def test_guardian_is_changed_and_ended_audited(teenager, counsellor_a):
    """S-CLIENT-4: a guardian's details are corrected and the guardian ended (reason, who, when); each audited;
    an ended guardian no longer acts for the client and cannot be changed or ended again."""
    guardian = services.do_add_guardian(actor=counsellor_a, client=teenager, data=GUARDIAN)
    services.do_change_guardian(
        actor=counsellor_a, guardian=guardian, data={"name": "周丽", "relationship": "母亲", "phone": "13900139002"}
    )
    guardian.refresh_from_db()
    assert guardian.phone == "+8613900139002"
    entries = AuditEntry.objects.filter(object_type="clients.guardian", object_id=str(guardian.pk))
    assert entries.filter(action="update").count() == 1
    before = written(teenager)
    with pytest.raises(ValidationError) as refused:
        services.do_end_guardian(actor=counsellor_a, guardian=guardian, reason=" ")
    assert "reason" in refused.value.error_dict and written(teenager) == before
    services.do_end_guardian(actor=counsellor_a, guardian=guardian, reason="已变更监护人")
    guardian.refresh_from_db()
    assert guardian.ended_at and guardian.ended_by_id == counsellor_a.pk and guardian.ended_reason == "已变更监护人"
    assert not services.has_consenting_guardian(teenager) and not Guardian.objects.current().filter(client=teenager)
    assert entries.filter(action="update").count() == 2
    with pytest.raises(ValidationError, match="已于此前终止"):
        services.do_end_guardian(actor=counsellor_a, guardian=guardian, reason="再次终止")
    with pytest.raises(ValidationError, match="已终止"):
        services.do_change_guardian(actor=counsellor_a, guardian=guardian, data=GUARDIAN)
    # the same person may be recorded again, with a new consent
    services.do_add_guardian(actor=counsellor_a, client=teenager, data=GUARDIAN)
    assert services.has_consenting_guardian(teenager)


def test_guardians_are_scoped(teenager, counsellor_a, counsellor_b):
    """S-CLIENT-4, S-ORG-2: only staff over the client's unit add, change or end its guardians; pages 404 outside."""
    with pytest.raises(ValidationError, match="无权"):
        services.do_add_guardian(actor=counsellor_b, client=teenager, data=GUARDIAN)
    guardian = services.do_add_guardian(actor=counsellor_a, client=teenager, data=GUARDIAN)
    with pytest.raises(ValidationError, match="无权"):
        services.do_end_guardian(actor=counsellor_b, guardian=guardian, reason="越权")
    http = HttpClient()
    http.force_login(counsellor_b)
    assert http.get(f"/clients/{teenager.pk}/guardians/new/").status_code == 404
    assert http.post(f"/clients/guardians/{guardian.pk}/end/", {"reason": "越权"}).status_code == 404
    guardian.refresh_from_db()
    assert guardian.ended_at is None


def test_guardian_pages_show_the_error_on_the_field(teenager, counsellor_a):
    """S-CLIENT-4: the page puts a refusal on its field and writes nothing; success shows on the client page."""
    http = HttpClient()
    http.force_login(counsellor_a)
    form = {"name": "周丽", "relationship": "母亲", "phone": "13900139001", "consent_method": "written"}
    response = http.post(f"/clients/{teenager.pk}/guardians/new/", form)
    page = response.content.decode()
    assert response.status_code == 200 and "没有监护人的同意不能登记为监护人" in page and "invalid-feedback" in page
    assert not teenager.guardians.exists()
    response = http.post(f"/clients/{teenager.pk}/guardians/new/", {**form, "consent": "on"})
    assert response.status_code == 302
    guardian = teenager.guardians.get()
    detail = http.get(f"/clients/{teenager.pk}/").content.decode()
    assert "周丽（母亲）" in detail and "书面同意书" in detail
    assert http.get(f"/clients/guardians/{guardian.pk}/edit/").status_code == 200
    refused = http.post(f"/clients/guardians/{guardian.pk}/end/", {"reason": ""})
    assert refused.status_code == 200 and "请填写终止原因" in refused.content.decode()
    assert http.post(f"/clients/guardians/{guardian.pk}/end/", {"reason": "已满 18 周岁"}).status_code == 302
    assert "已满 18 周岁" in http.get(f"/clients/{teenager.pk}/").content.decode()
