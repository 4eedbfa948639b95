"""QA findings on outreach: record numbers typed into forms, and who was present at a home visit."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from apps.clients.services import do_register_client
from apps.core.scoping import unscoped
from apps.outreach import services
from apps.outreach.models import HomeVisit, Intervention, RemoteInquiry
from conftest import make_user

SH = ZoneInfo("Asia/Shanghai")
NOT_FOUND = "没有找到该编号的来访者，或其不在您的管辖范围内。"
NO_CASE = "没有找到该编号的个案，或其不在您的管辖范围内。"


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def test_inquiry_with_an_unknown_or_foreign_client_number_is_a_form_error(tree, counsellor_a):
    """S-FLOW-4, X-4: a 来访者编号 of another street's client or a nonexistent one keeps the form with the
    same error for both (no raw 404, nothing revealed, nothing saved)."""
    foreign = do_register_client(actor=None, unit=tree.c3, data={"name": "吴外街"})
    http = browser(counsellor_a)
    data = {"unit": tree.c1.pk, "channel": "phone", "received_at": "2026-11-20T10:00", "question": "孩子不愿上学"}
    for number in (foreign.pk, 99999):
        response = http.post("/outreach/inquiries/new/", {**data, "client_id": number})
        assert response.status_code == 200
        page = response.content.decode()
        assert NOT_FOUND in page and "孩子不愿上学" in page
    with unscoped("test assertion"):
        assert not RemoteInquiry.objects.exists()
    mine = do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰"})
    assert http.post("/outreach/inquiries/new/", {**data, "client_id": mine.pk}).status_code == 302


@pytest.mark.parametrize("kind", ["interventions", "visits"])
def test_unknown_case_number_is_a_form_error(tree, counsellor_a, kind):
    """S-FLOW-6, X-4: a nonexistent 个案编号 on the intervention or visit form is a form error, not a 404."""
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰"})
    data = {
        "interventions": {
            "kind": "care_comfort_guidance",
            "happened_at": "2026-11-20T10:00",
            "description": "电话疏导",
        },
        "visits": {"kind": "ad_hoc", "planned_for": "2026-12-20"},
    }[kind]
    response = browser(counsellor_a).post(f"/outreach/clients/{client.pk}/{kind}/new/", {**data, "case_id": 99999})
    assert response.status_code == 200 and NO_CASE in response.content.decode()
    with unscoped("test assertion"):
        assert not Intervention.objects.exists() and not HomeVisit.objects.exists()


@pytest.mark.parametrize("answer", ["无", "没有", "空", "-", "/", "无人", " 无。 "])
def test_home_visit_needs_a_real_family_member(tree, counsellor_a, answer):
    """S-FLOW-6: a home visit records the family member or guardian present; "无", "-" and the like are refused."""
    worker = make_user("worker_c1", tree.c1, "community_worker", full_name="专干甲")
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰"})
    visit = services.do_plan_visit(
        actor=counsellor_a,
        client=client,
        kind="ad_hoc",
        planned_for=dt.date(2026, 11, 20),
        staff=[counsellor_a, worker],
    )
    record = {"visited_at": dt.datetime(2026, 11, 20, 10, tzinfo=SH), "record": "情绪平稳"}
    with pytest.raises(ValidationError, match="家属或监护人"):
        services.do_record_visit(
            actor=counsellor_a, visit=visit, staff=[counsellor_a, worker], family_present=answer, **record
        )
    visit.refresh_from_db()
    assert visit.status == "planned"
    services.do_record_visit(
        actor=counsellor_a, visit=visit, staff=[counsellor_a, worker], family_present="王芳（母亲）", **record
    )
