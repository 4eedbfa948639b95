"""H-SVC-1: help requests routed by specialty, assigned to a committee's counsellor, accepted or declined."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.assistance import reminders, selectors, services
from apps.assistance.models import HelpRequest, HelpRequestEvent, SpecialtyRoute
from apps.audit.models import AuditEntry
from apps.core.scoping import ScopeError, unscoped
from apps.notifications.models import Notification

from .conftest import at, browser


@pytest.fixture
def routes(assoc):
    services.do_save_settings(
        actor=assoc.secretariat, unit=assoc.root, assign_working_days=2, education_minimum=24,
        routes={"youth": assoc.youth, "crisis": assoc.crisis},
    )  # fmt: skip


def register(assoc, specialty="youth", actor=None, **extra):
    data = {
        "channel": "hotline", "received_at": timezone.now() - dt.timedelta(hours=1), "seeker_name": "王小明",
        "seeker_phone": "13912345678", "topic": "孩子厌学，与父母冲突激烈", "specialty": specialty, "urgency": "urgent",
    }  # fmt: skip
    data.update(extra)
    return services.do_register_help_request(actor=actor or assoc.secretariat, unit=assoc.root, **data)


def count_all():
    with unscoped("test counts"):
        return HelpRequest.objects.count(), HelpRequestEvent.objects.count()


def test_request_is_routed_to_the_committee_of_its_specialty(assoc, routes):
    """H-SVC-1: the specialty → committee mapping routes the request on registration; the head is told."""
    row = register(assoc)
    assert row.status == "routed" and row.committee == assoc.youth and row.unit_path == assoc.youth.path
    assert list(row.events.values_list("kind", flat=True)) == ["received", "routed"]
    assert Notification.objects.filter(recipient=assoc.head_youth, url=f"/assistance/help/{row.pk}/").exists()
    assert not Notification.objects.filter(recipient=assoc.head_crisis).exists()
    crisis = register(assoc, specialty="crisis")
    assert crisis.committee == assoc.crisis


def test_without_a_route_the_request_waits_for_manual_routing(assoc, routes):
    """H-SVC-1: an unmapped specialty stays at the association until someone routes it by hand."""
    row = register(assoc, specialty="elderly")
    assert row.status == "received" and row.committee is None and row.unit == assoc.root
    row = services.do_route_help_request(actor=assoc.secretariat, request=row, committee=assoc.crisis, version=1)
    assert row.status == "routed" and row.committee == assoc.crisis and row.version == 2


def test_routing_mapping_is_configurable_and_inherited(assoc):
    """H-SVC-1: the mapping is data per association; a committee of another association is refused."""
    with pytest.raises(ValidationError, match="不属于本协会"):
        services.do_save_settings(
            actor=None, unit=assoc.root, assign_working_days=2, education_minimum=24,
            routes={"youth": assoc.other_committee},
        )  # fmt: skip
    assert not SpecialtyRoute.objects.exists()
    services.do_save_settings(
        actor=None, unit=assoc.root, assign_working_days=3, education_minimum=20, routes={"youth": assoc.crisis}
    )
    assert services.route_for(assoc.youth, "youth") == assoc.crisis  # inherited from the association
    assert services.settings_for(assoc.youth).assign_working_days == 3


def test_assign_due_counts_working_days_from_receipt(assoc, routes):
    """H-SVC-1: received before National Day 2026 → 2 working days skip the holiday (deadline stored once)."""
    row = register(assoc, received_at=at(2026, 9, 30, 15))
    assert row.assign_due == dt.date(2026, 10, 9)
    assert row in list(selectors.overdue_help(assoc.secretariat, dt.date(2026, 10, 10)))
    assert row not in list(selectors.overdue_help(assoc.secretariat, dt.date(2026, 10, 9)))


def test_assignment_only_to_a_member_of_the_committee(assoc, routes):
    """H-SVC-1: assigning to someone outside the routed committee is refused in Chinese; nothing changes."""
    row = register(assoc)
    before = count_all()
    for stranger in (assoc.crisis_member, assoc.other_member):
        with pytest.raises(ValidationError, match="只能分派给本专业委员会的会员心理师"):
            services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=stranger)
    row.refresh_from_db()
    assert row.status == "routed" and row.assignee is None and row.version == 1 and count_all() == before
    row = services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x)
    assert row.status == "assigned" and row.assignee == assoc.counsellor_x
    note = Notification.objects.get(recipient=assoc.counsellor_x)
    assert note.url == f"/assistance/my/help/{row.pk}/" and "王小明" not in note.body


def test_head_of_another_committee_cannot_assign(assoc, routes):
    """H-SVC-1: the crisis committee's head does not reach the youth committee's requests."""
    row = register(assoc)
    with pytest.raises(ValidationError, match="无权"):
        services.do_assign_help_request(actor=assoc.head_crisis, request=row, assignee=assoc.counsellor_x)


def test_accept_decline_and_reassign(assoc, routes):
    """H-SVC-1: decline needs a reason and returns the request; re-assignment needs a reason; the assignee accepts."""
    row = register(assoc)
    row = services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x)
    with pytest.raises(ValidationError, match="只有被分派的心理师本人"):
        services.do_accept_help_request(actor=assoc.counsellor_y, request=row)
    with pytest.raises(ValidationError, match="请填写婉拒原因"):
        services.do_decline_help_request(actor=assoc.counsellor_x, request=row, reason="  ")
    row = services.do_decline_help_request(actor=assoc.counsellor_x, request=row, reason="本周出差，无法接待")
    assert row.status == "routed" and row.assignee is None
    assert Notification.objects.filter(recipient=assoc.head_youth, title__contains="婉拒").exists()
    row = services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_y)
    with pytest.raises(ValidationError, match="请填写改派原因"):
        services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x)
    row = services.do_assign_help_request(
        actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x, reason="求助者希望男性心理师"
    )
    assert Notification.objects.filter(recipient=assoc.counsellor_y, title="个案求助已改派").exists()
    row = services.do_accept_help_request(actor=assoc.counsellor_x, request=row)
    assert row.status == "accepted" and row.accepted_at is not None
    kinds = list(row.events.values_list("kind", flat=True))
    assert kinds == ["received", "routed", "assigned", "declined", "assigned", "reassigned", "accepted"]
    assert row.events.get(kind="declined").reason == "本周出差，无法接待"


def test_closing_with_outcome(assoc, routes):
    """H-SVC-1: unaccepted requests close only as no-contact/withdrawn; the counsellor closes an accepted one."""
    row = register(assoc)
    with pytest.raises(ValidationError, match="尚未接案"):
        services.do_close_help_request(actor=assoc.head_youth, request=row, outcome="resolved")
    row = services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x)
    row = services.do_accept_help_request(actor=assoc.counsellor_x, request=row)
    with pytest.raises(ValidationError, match="请选择结案结果"):
        services.do_close_help_request(actor=assoc.counsellor_x, request=row, outcome="bogus")
    row = services.do_close_help_request(
        actor=assoc.counsellor_x, request=row, outcome="resolved", note="三次电话疏导后情绪平稳"
    )
    assert row.status == "closed" and row.outcome == "resolved"
    with pytest.raises(ValidationError, match="已经结案"):
        services.do_close_help_request(actor=assoc.head_youth, request=row, outcome="withdrawn")


def test_stale_version_is_refused(assoc, routes):
    """H-SVC-1: an edit based on an old version is refused and changes nothing."""
    row = register(assoc)
    services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x, version=1)
    with pytest.raises(ValidationError, match="已被他人修改"):
        services.do_assign_help_request(
            actor=assoc.head_youth, request=row, assignee=assoc.counsellor_y, reason="改派", version=1
        )
    row.refresh_from_db()
    assert row.assignee == assoc.counsellor_x and row.version == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"seeker_phone": "12345"}, "电话号码"),
        ({"seeker_name": ""}, "请填写求助者姓名"),
        ({"topic": " "}, "请填写求助问题"),
        ({"specialty": "astrology"}, "请选择专业领域"),
        ({"channel": "pigeon"}, "请选择求助渠道"),
        ({"received_at": timezone.now() + dt.timedelta(days=2)}, "不能晚于现在"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_saves_nothing(assoc, routes, extra, message):
    """H-SVC-1: invalid registrations are refused with a Chinese message; no row, no event, no audit entry."""
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationError, match=message):
        register(assoc, **extra)
    assert count_all() == (0, 0) and AuditEntry.objects.count() == audit_before


def test_help_seeker_identity_is_encrypted_masked_and_every_read_audited(assoc, routes):
    """H-SVC-1, X-4: lists show 王** / 139****5678; opening the full identity writes an audit entry."""
    row = register(assoc)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT seeker_name, seeker_phone FROM assistance_helprequest WHERE id = %s", [row.pk])
        raw = cursor.fetchone()
    assert "王小明" not in raw[0] and "13912345678" not in raw[1]
    with pytest.raises(ScopeError):
        list(HelpRequest.objects.all())
    http = browser(assoc.secretariat)
    page = http.get("/assistance/help/").content.decode()
    assert "王**" in page and "王小明" not in page
    detail = http.get(f"/assistance/help/{row.pk}/").content.decode()
    assert "139****5678" in detail and "13912345678" not in detail
    reads = AuditEntry.objects.filter(action="read_sensitive", object_id=str(row.pk))
    count = reads.count()
    full = http.get(f"/assistance/help/{row.pk}/identity/").content.decode()
    assert "王小明" in full and "13912345678" in full
    assert reads.count() == count + 1
    assert reads.order_by("-seq").first().purpose == "查看求助者完整姓名与电话"
    member = browser(assoc.counsellor_x)
    assert member.get(f"/assistance/help/{row.pk}/identity/").status_code == 403


def test_other_association_gets_404(assoc, routes):
    """H-SVC-1: the neighbouring association's secretariat sees neither the list row nor the record."""
    row = register(assoc)
    http = browser(assoc.other_secretariat)
    assert http.get(f"/assistance/help/{row.pk}/").status_code == 404
    assert http.get(f"/assistance/help/{row.pk}/identity/").status_code == 404
    assert f"#{row.pk}<" not in http.get("/assistance/help/").content.decode()
    assert http.get(f"/api/assistance/help-requests/{row.pk}/").status_code == 404
    with pytest.raises(ValidationError):
        services.do_assign_help_request(actor=assoc.other_secretariat, request=row, assignee=assoc.counsellor_x)


def test_assignee_only_sees_their_own_request(assoc, routes):
    """H-SVC-1: a counsellor opens a request assigned to them (identity after acceptance), others get 404."""
    row = register(assoc)
    services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x)
    assert browser(assoc.counsellor_y).get(f"/assistance/my/help/{row.pk}/").status_code == 404
    http = browser(assoc.counsellor_x)
    page = http.get(f"/assistance/my/help/{row.pk}/").content.decode()
    assert "王**" in page and "13912345678" not in page
    response = http.post(f"/assistance/my/help/{row.pk}/accept/", {"version": 2})
    assert response.status_code == 302
    page = http.get(f"/assistance/my/help/{row.pk}/").content.decode()
    assert "王小明" in page and "13912345678" in page
    assert AuditEntry.objects.filter(purpose="接案心理师查看求助者联系方式", object_id=str(row.pk)).exists()


def test_web_flow_register_route_assign(assoc, routes):
    """H-SVC-1: the secretariat registers via the form, the head assigns via the page."""
    http = browser(assoc.secretariat)
    response = http.post(
        "/assistance/help/new/",
        {
            "unit": assoc.root.pk, "channel": "phone", "received_at": "2026-11-20T09:30", "seeker_name": "李女士",
            "seeker_phone": "13700001111", "specialty": "youth", "urgency": "normal", "topic": "女儿网络成瘾",
        },
    )  # fmt: skip
    assert response.status_code == 302
    with unscoped("test"):
        row = HelpRequest.objects.get()
    assert row.committee == assoc.youth
    head = browser(assoc.head_youth)
    page = head.get(f"/assistance/help/{row.pk}/assign/").content.decode()
    assert "心理师小许" in page and "危机会员小陈" not in page
    response = head.post(
        f"/assistance/help/{row.pk}/assign/", {"assignee": assoc.counsellor_y.pk, "version": row.version}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.assignee == assoc.counsellor_y


def test_api_flow(assoc, routes):
    """H-SVC-1, X-6: register, assign and accept through the API; bad input answers 400 in Chinese."""
    sec = browser(assoc.secretariat)
    body = {
        "unit": assoc.root.pk, "channel": "online", "received_at": "2026-11-20T10:00:00+08:00",
        "seeker_name": "赵先生", "topic": "失业后失眠", "specialty": "youth",
    }  # fmt: skip
    bad = sec.post("/api/assistance/help-requests/", {**body, "seeker_phone": "123"}, content_type="application/json")
    assert bad.status_code == 400 and "电话号码" in json.dumps(bad.json(), ensure_ascii=False)
    created = sec.post("/api/assistance/help-requests/", body, content_type="application/json").json()
    assert created["seeker_name"] == "赵**" and created["status"] == "routed"
    pk = created["id"]
    head = browser(assoc.head_youth)
    wrong = head.post(
        f"/api/assistance/help-requests/{pk}/assign/", {"assignee": assoc.crisis_member.pk}, "application/json"
    )
    assert wrong.status_code == 400
    ok = head.post(
        f"/api/assistance/help-requests/{pk}/assign/", {"assignee": assoc.counsellor_x.pk}, "application/json"
    )
    assert ok.json()["status"] == "assigned"
    member = browser(assoc.counsellor_x)
    assert [r["id"] for r in member.get("/api/assistance/my-help-requests/").json()["results"]] == [pk]
    accepted = member.post(f"/api/assistance/my-help-requests/{pk}/accept/", {}, "application/json")
    assert accepted.json()["status"] == "accepted"
    identity = sec.get(f"/api/assistance/help-requests/{pk}/identity/").json()
    assert identity["seeker_name"] == "赵先生"


def test_help_list_has_a_fixed_query_count(assoc, routes, settings, django_assert_max_num_queries):
    """H-SVC-1: the list costs the same number of queries for 3 rows as for a full page."""
    settings.PAGE_SIZE = 10
    http = browser(assoc.secretariat)
    for _ in range(3):
        register(assoc)
    with django_assert_max_num_queries(12) as small:
        http.get("/assistance/help/")
    for _ in range(15):
        register(assoc)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = http.get("/assistance/help/")
    assert "下一页" in page.content.decode()


def test_overdue_reminders_go_to_the_committee_head(assoc, routes):
    """H-SVC-1, X-7: a request unassigned past its deadline reminds the head; an unaccepted one the counsellor."""
    late = register(assoc, received_at=at(2026, 11, 2))
    waiting = register(assoc)
    services.do_assign_help_request(actor=assoc.head_youth, request=waiting, assignee=assoc.counsellor_x)
    now = timezone.now() + dt.timedelta(days=2)
    due = list(reminders.help_requests_due(now))
    assert any(r.user == assoc.head_youth and r.url == f"/assistance/help/{late.pk}/" for r in due)
    assert any(r.user == assoc.counsellor_x and str(waiting.pk) in r.url for r in due)


def test_tasks_for_user_lists_open_assignments(assoc, routes):
    """H-SVC-1: tasks_for_user shows assigned and accepted requests, not closed ones or others'."""
    one, two, three = register(assoc), register(assoc), register(assoc)
    for row in (one, two, three):
        services.do_assign_help_request(actor=assoc.head_youth, request=row, assignee=assoc.counsellor_x)
    services.do_accept_help_request(actor=assoc.counsellor_x, request=two)
    services.do_close_help_request(actor=assoc.head_youth, request=three, outcome="withdrawn")
    tasks = selectors.tasks_for_user(assoc.counsellor_x)
    assert [r.pk for r in tasks["help_requests"]] == [one.pk, two.pk]
    assert selectors.tasks_for_user(assoc.counsellor_y)["help_requests"] == []
