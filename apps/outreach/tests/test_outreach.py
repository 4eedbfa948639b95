"""Remote inquiries, home visits, interventions, referrals and disclosures."""

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.clients.services import do_register_client
from apps.core.scoping import ScopeError, unscoped
from apps.outreach import reminders, selectors, services
from apps.outreach.models import Disclosure, HomeVisit, RemoteInquiry
from conftest import make_user

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10):
    return dt.datetime(y, m, d, h, 0, tzinfo=SH)


@pytest.fixture
def client_a(tree):
    return do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰"})


@pytest.fixture
def worker(tree):
    return make_user("worker_c1", tree.c1, "community_worker", full_name="专干甲")


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def inquiry(actor, unit, received, **extra):
    return services.do_record_inquiry(
        actor=actor, unit=unit, channel="phone", received_at=received, question="孩子最近不愿上学怎么办", **extra
    )


def test_reply_due_across_national_day_2026(tree, counsellor_a):
    """S-FLOW-4: received 2026-09-30 → three working days skip Oct 1–7; Oct 10 (Sat) is an adjusted workday."""
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 9, 30, 16)):
        row = inquiry(counsellor_a, tree.c1, at(2026, 9, 30, 15))
    assert row.reply_due == dt.date(2026, 10, 10)


def test_reply_due_from_a_friday_and_late_evening(tree, counsellor_a):
    """S-FLOW-4: from Friday 2026-11-20 → Wednesday 11-25; 23:30 Shanghai time counts as that day."""
    row = inquiry(counsellor_a, tree.c1, at(2026, 11, 20))
    assert row.reply_due == dt.date(2026, 11, 25)
    late = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
    assert services.reply_due_for(late) == dt.date(2026, 11, 25)


def test_answered_at_once_has_no_deadline_and_text_is_encrypted(tree, counsellor_a):
    """S-FLOW-4, X-2: an inquiry answered at once gets no reply deadline; identifiers are encrypted at rest."""
    row = inquiry(counsellor_a, tree.c1, at(2026, 11, 20), answer="已当场解答", contact_phone="13800138000")
    assert row.reply_due is None and row.answered_at is not None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT question, contact_phone FROM outreach_remoteinquiry")
        raw = " ".join(str(v) for r in cursor.fetchall() for v in r)
    assert "上学" not in raw and "13800138000" not in raw
    with pytest.raises(ScopeError):
        list(RemoteInquiry.objects.all())


def test_overdue_list_is_scoped_and_highlighted(tree, counsellor_a, counsellor_b, street_manager):
    """S-FLOW-4: overdue = deadline passed and not answered, per unit subtree; the page highlights them."""
    old = inquiry(counsellor_a, tree.c1, at(2026, 11, 2))
    inquiry(counsellor_a, tree.c1, timezone.now())  # not yet due
    answered = inquiry(counsellor_a, tree.c1, at(2026, 11, 3))
    services.do_answer_inquiry(actor=counsellor_a, inquiry=answered, answer="已电话回复")
    other = inquiry(None, tree.c3, at(2026, 11, 2))
    day = dt.date(2026, 11, 23)
    assert list(selectors.overdue_inquiries(counsellor_a, day)) == [old]
    assert list(selectors.overdue_inquiries(counsellor_b, day)) == []
    assert list(selectors.overdue_inquiries(street_manager, day)) == [old]
    page = browser(street_manager).get("/outreach/inquiries/overdue/").content.decode()
    assert f"#{old.pk}" in page and "table-danger" in page and f"#{other.pk}<" not in page


def test_answer_once_and_refuse_out_of_scope(tree, counsellor_a, counsellor_b):
    """S-FLOW-4, S-ORG-2: a reply is recorded once, by someone whose scope covers the unit."""
    row = inquiry(counsellor_a, tree.c1, at(2026, 11, 20))
    with pytest.raises(ValidationError):
        services.do_answer_inquiry(actor=counsellor_b, inquiry=row, answer="越权回复")
    with pytest.raises(ValidationError, match="请填写回复内容"):
        services.do_answer_inquiry(actor=counsellor_a, inquiry=row, answer=" ")
    response = browser(counsellor_a).post(f"/outreach/inquiries/{row.pk}/answer/", {"answer": "已回电说明"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.answer == "已回电说明" and row.answered_by == counsellor_a
    with pytest.raises(ValidationError, match="已经回复"):
        services.do_answer_inquiry(actor=counsellor_a, inquiry=row, answer="再次回复")
    assert browser(counsellor_b).get(f"/outreach/inquiries/{row.pk}/").status_code == 404


def test_inquiry_reminders_due_tomorrow_and_overdue(tree, counsellor_a, worker, counsellor_b):
    """S-FLOW-4, X-7: the unit's staff are reminded the day before and daily once overdue; keys per day."""
    due_tomorrow = inquiry(counsellor_a, tree.c1, at(2026, 11, 19))  # due 11-24
    overdue = inquiry(counsellor_a, tree.c1, at(2026, 11, 13))  # due 11-18
    now = at(2026, 11, 23, 9)
    items = list(reminders.inquiry_replies_due(now))
    people = {r.user for r in items}
    assert people == {counsellor_a, worker}  # counsellor_b works in C2
    kinds = {(r.url, r.template) for r in items}
    assert (f"/outreach/inquiries/{due_tomorrow.pk}/", "generic") in kinds
    assert (f"/outreach/inquiries/{overdue.pk}/", "inquiry_reply_overdue") in kinds
    next_day = {r.dedupe_key for r in reminders.inquiry_replies_due(now + dt.timedelta(days=1))}
    assert not next_day & {r.dedupe_key for r in items}
    from apps.notifications.services import do_send_due_reminders

    assert do_send_due_reminders(now=now) >= 4
    assert do_send_due_reminders(now=now) == 0


def test_visit_needs_two_staff_and_family_and_schedules_next(tree, client_a, counsellor_a, worker, counsellor_b):
    """S-FLOW-6: at least two distinct staff covering the unit and a family member; periodic visits repeat."""
    visit = services.do_plan_visit(
        actor=counsellor_a, client=client_a, kind="planned", planned_for=dt.date(2026, 11, 20), interval_days=30
    )
    record = {"visited_at": at(2026, 11, 20), "family_present": "王芳（母亲）", "record": "情绪平稳，按时服药"}
    with pytest.raises(ValidationError, match="至少两名"):
        services.do_record_visit(actor=counsellor_a, visit=visit, staff=[counsellor_a, counsellor_a], **record)
    with pytest.raises(ValidationError, match="在岗"):
        services.do_record_visit(actor=counsellor_a, visit=visit, staff=[counsellor_a, counsellor_b], **record)
    with pytest.raises(ValidationError, match="家属或监护人"):
        services.do_record_visit(
            actor=counsellor_a, visit=visit, staff=[counsellor_a, worker], **{**record, "family_present": ""}
        )
    visit.refresh_from_db()
    assert visit.status == "planned"
    services.do_record_visit(actor=counsellor_a, visit=visit, staff=[counsellor_a, worker], **record)
    visit.refresh_from_db()
    assert visit.status == "done" and visit.next_visit.planned_for == dt.date(2026, 12, 20)
    assert set(visit.next_visit.staff.all()) == {counsellor_a, worker}


def test_visit_form_shows_two_staff_error(tree, client_a, counsellor_a):
    """S-FLOW-6: the form refuses a visit with one staff member, in Chinese, and changes nothing."""
    visit = services.do_plan_visit(
        actor=counsellor_a, client=client_a, kind="ad_hoc", planned_for=dt.date(2026, 11, 20)
    )
    page = browser(counsellor_a).post(
        f"/outreach/visits/{visit.pk}/record/",
        {"visited_at": "2026-11-20T10:00", "staff": [counsellor_a.pk], "family_present": "王芳（母亲）", "record": "x"},
    )
    assert "至少两名工作人员" in page.content.decode()
    visit.refresh_from_db()
    assert visit.status == "planned"


def test_my_visits_and_reminders(tree, client_a, counsellor_a, worker):
    """S-FLOW-6, X-7: "my visits" lists due-within-a-week and overdue visits; staff are reminded."""
    today = services.today()
    overdue = services.do_plan_visit(
        actor=counsellor_a, client=client_a, kind="ad_hoc", planned_for=today - dt.timedelta(days=3), staff=[worker]
    )
    soon = services.do_plan_visit(
        actor=counsellor_a, client=client_a, kind="ad_hoc", planned_for=today + dt.timedelta(days=1)
    )
    services.do_plan_visit(
        actor=counsellor_a, client=client_a, kind="ad_hoc", planned_for=today + dt.timedelta(days=20)
    )
    assert list(selectors.my_visits(worker)) == [overdue, soon]
    assert list(selectors.my_visits(counsellor_a)) == [soon]  # unassigned in her unit
    items = list(reminders.visits_due(timezone.now()))
    assert {(r.user, r.url) for r in items} >= {
        (worker, f"/outreach/visits/{overdue.pk}/"),
        (counsellor_a, f"/outreach/visits/{soon.pk}/"),
    }
    page = browser(worker).get("/outreach/visits/").content.decode()
    assert f"#{overdue.pk}" in page and "已逾期" in page


def test_interventions_of_eight_kinds(tree, client_a, counsellor_a):
    """S-FLOW-7: each intervention is recorded by one of the eight kinds; opening one is audited."""
    from apps.outreach.choices import InterventionKind

    assert len(InterventionKind.values) == 8
    row = services.do_record_intervention(
        actor=counsellor_a, client=client_a, kind="family_communication", happened_at=at(2026, 11, 20),
        description="与其父母沟通作息安排",
    )  # fmt: skip
    with pytest.raises(ValidationError):
        services.do_record_intervention(
            actor=counsellor_a, client=client_a, kind="hypnosis", happened_at=at(2026, 11, 20), description="x"
        )
    before = AuditEntry.objects.filter(action="read_sensitive").count()
    assert "与其父母沟通" in browser(counsellor_a).get(f"/outreach/interventions/{row.pk}/").content.decode()
    assert AuditEntry.objects.filter(action="read_sensitive").count() == before + 1


def test_referral_writes_disclosure_and_client_page_lists_all(tree, client_a, counsellor_a, counsellor_b):
    """S-FLOW-8, S-PRIN-3: a referral needs consent or a legal ground and writes a disclosure row;
    the client page lists every disclosure."""
    base = {"institution": "市第七人民医院", "reason": "疑似抑郁发作", "materials": "评估量表\n咨询摘要",
            "referred_on": dt.date(2026, 11, 20)}  # fmt: skip
    with pytest.raises(ValidationError, match="法定依据"):
        services.do_refer(actor=counsellor_a, client=client_a, consent_reference="", **base)
    referral = services.do_refer(actor=counsellor_a, client=client_a, consent_reference="同意书 2026-031", **base)
    services.do_record_disclosure(
        actor=counsellor_a, client=client_a, recipient="区人民法院", what="咨询记录摘要", legal_basis="协助调查函",
        disclosed_at=at(2026, 11, 21),
    )  # fmt: skip
    with unscoped("test assertion"):
        rows = list(Disclosure.objects.filter(client=client_a).order_by("id"))
    assert [r.recipient for r in rows] == ["市第七人民医院", "区人民法院"]
    assert rows[0].referral == referral and "评估量表、咨询摘要" in rows[0].what
    page = browser(counsellor_a).get(f"/outreach/clients/{client_a.pk}/").content.decode()
    assert "区人民法院" in page and "市第七人民医院" in page
    assert browser(counsellor_b).get(f"/outreach/clients/{client_a.pk}/").status_code == 404
    services.do_record_referral_outcome(actor=counsellor_a, referral=referral, status="completed", outcome="已住院治疗")
    with pytest.raises(ValidationError, match="已结束"):
        services.do_record_referral_outcome(actor=counsellor_a, referral=referral, status="accepted", outcome="x")
    assert (
        AuditEntry.objects.filter(object_type__icontains="referral").exists()
        or AuditEntry.objects.filter(object_id=str(referral.pk)).exists()
    )


def test_api_create_and_audited_retrieve(tree, client_a, counsellor_a, worker):
    """S-FLOW-6, X-4: the API plans and records visits through the same rules; retrieve is audited."""
    http = browser(counsellor_a)
    created = http.post(
        "/api/outreach/visits/",
        {"client": client_a.pk, "kind": "ad_hoc", "planned_for": "2026-11-20"},
        content_type="application/json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    refused = http.post(
        f"/api/outreach/visits/{pk}/record/",
        {"visited_at": "2026-11-20T10:00:00+08:00", "staff": [counsellor_a.pk], "family_present": "母亲",
         "record": "x"},
        content_type="application/json",
    )  # fmt: skip
    assert refused.status_code == 400 and "至少两名" in refused.content.decode()
    done = http.post(
        f"/api/outreach/visits/{pk}/record/",
        {"visited_at": "2026-11-20T10:00:00+08:00", "staff": [counsellor_a.pk, worker.pk], "family_present": "母亲",
         "record": "平稳"},
        content_type="application/json",
    )  # fmt: skip
    assert done.status_code == 200 and done.json()["status"] == "done"
    before = AuditEntry.objects.filter(action="read_sensitive").count()
    assert http.get(f"/api/outreach/visits/{pk}/").json()["record"] == "平稳"
    assert AuditEntry.objects.filter(action="read_sensitive").count() == before + 1
    assert "record" not in http.get("/api/outreach/visits/").json()["results"][0]
    with unscoped("test assertion"):
        assert HomeVisit.objects.count() == 1


def test_demo_data_seeds_overdue_inquiries_and_visits(tree, counsellor_a, worker):
    """S-FLOW-4, S-FLOW-6: the demo seeds overdue inquiries and visits due and overdue."""
    from apps.outreach.demo import seed_demo_outreach

    do_register_client(actor=None, unit=tree.c1, data={"name": "演示一"})
    do_register_client(actor=None, unit=tree.c1, data={"name": "演示二"})
    units = {"community-1-1": tree.c1, "community-2-1": tree.c3}
    assert seed_demo_outreach(units, {"counsellor": counsellor_a, "worker": worker}) > 8
    assert selectors.overdue_inquiries(counsellor_a).exists()
    assert any(v.planned_for < services.today() for v in selectors.my_visits(worker))
