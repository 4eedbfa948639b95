"""Casework: the case state machine, counsellors, consents, sessions, receptions, confidentiality limits."""

import datetime
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.casework import services
from apps.casework.models import Case, CaseEvent, Consent, CounsellingSession
from apps.clients.models import Guardian
from apps.clients.services import do_register_client
from apps.core.scoping import ScopeError, unscoped
from apps.notifications.models import Notification
from conftest import make_user


def browser(user, reauth=True):
    http = HttpClient()
    http.force_login(user)
    if not reauth:
        session = http.session
        session["xinyuan_reauth_at"] = int(time.time()) - 3600
        session.save()
    return http


@pytest.fixture
def client_a(tree):
    return do_register_client(
        actor=None, unit=tree.c1, data={"name": "张三丰", "birth_date": datetime.date(1980, 1, 1)}
    )


@pytest.fixture
def minor(tree):
    client = do_register_client(
        actor=None, unit=tree.c1, data={"name": "李小明", "birth_date": datetime.date(2015, 3, 1)}
    )
    Guardian.objects.create(
        client=client, name="李大明", relationship="父亲", phone="13800138001", consent_given_at=timezone.now()
    )
    return client


@pytest.fixture
def active_case(client_a, counsellor_a):
    case = services.do_open_case(actor=counsellor_a, client=client_a, counsellor=counsellor_a)
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="active", requested_by="client", reason="首次咨询"
    )
    return case


def test_open_case_copies_unit_and_checks_counsellor(client_a, counsellor_a, counsellor_b, tree):
    """S-PRIN-1, S-PRIN-2: a case lives in the client's unit; the counsellor's assignment must cover it."""
    with pytest.raises(ValidationError) as refused:  # the wording is the counsellor check's (S-STAFF-2)
        services.do_open_case(actor=counsellor_a, client=client_a, counsellor=counsellor_b)
    assert "counsellor" in refused.value.error_dict
    case = services.do_open_case(actor=counsellor_a, client=client_a, counsellor=counsellor_a)
    assert case.unit_id == tree.c1.pk and case.unit_path == tree.c1.path and case.state == "requested"
    assert case.events.get().requested_by == "client"
    with pytest.raises(ValidationError, match="一人一案"):
        services.do_open_case(actor=counsellor_a, client=client_a)
    with pytest.raises(ValidationError, match="本单位"):
        services.do_open_case(actor=counsellor_b, client=client_a)
    with pytest.raises(ScopeError):
        list(Case.objects.all())


def test_state_machine_and_audit(active_case, counsellor_a):
    """S-PRIN-1: legal moves write an event and an audit row; illegal ones change nothing."""
    case = active_case
    services.do_transition_case(actor=counsellor_a, case=case, to_state="paused", requested_by="client", reason="出差")
    events_before = CaseEvent.objects.filter(case=case).count()
    audits_before = AuditEntry.objects.filter(object_type="casework.case", object_id=str(case.pk)).count()
    with pytest.raises(ValidationError, match="不能变更为“已结案”"):
        services.do_transition_case(actor=counsellor_a, case=case, to_state="closed", requested_by="client", reason="x")
    case.refresh_from_db()
    assert case.state == "paused" and CaseEvent.objects.filter(case=case).count() == events_before
    assert AuditEntry.objects.filter(object_type="casework.case", object_id=str(case.pk)).count() == audits_before
    services.do_transition_case(actor=counsellor_a, case=case, to_state="active", requested_by="client", reason="回来")
    with pytest.raises(ValidationError, match="请填写变更原因"):
        services.do_transition_case(actor=counsellor_a, case=case, to_state="paused", requested_by="client", reason=" ")
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="terminated", requested_by="client", reason="不需要"
    )
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="closed", requested_by="counsellor", reason="结案"
    )
    case.refresh_from_db()
    assert case.state == "closed" and case.closed_at is not None
    assert [e.to_state for e in case.events.all()] == [
        "requested",
        "active",
        "paused",
        "active",
        "terminated",
        "closed",
    ]
    assert AuditEntry.objects.filter(object_type="casework.case", object_id=str(case.pk)).count() == audits_before + 3
    with pytest.raises(ValidationError, match="已结案"):
        services.do_transition_case(
            actor=counsellor_a, case=case, to_state="active", requested_by="client", reason="再来"
        )


def test_minor_requests_come_from_the_guardian(minor, counsellor_a):
    """S-CLIENT-4, S-PRIN-1: a minor's service is asked for by the guardian; a way out is open to the minor too."""
    with pytest.raises(ValidationError, match="监护人"):
        services.do_open_case(actor=counsellor_a, client=minor, counsellor=counsellor_a, requested_by="client")
    case = services.do_open_case(actor=counsellor_a, client=minor, counsellor=counsellor_a, requested_by="guardian")
    for requester in ("client", "counsellor"):
        with pytest.raises(ValidationError, match="须由监护人提出"):
            services.do_transition_case(
                actor=counsellor_a, case=case, to_state="active", requested_by=requester, reason="开始"
            )
    case.refresh_from_db()
    assert case.state == "requested"
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="active", requested_by="guardian", reason="开始"
    )
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="postponed", requested_by="client", reason="考试"
    )
    case.refresh_from_db()
    assert services.is_minor(minor) and case.state == "postponed"
    assert case.events.last().requested_by == "client"


def test_counsellor_change_needs_reason_and_informed_client(active_case, counsellor_a, tree):
    """S-PRIN-2: one case, one counsellor; a change records the reason and that the client was informed."""
    other = make_user("counsellor_c1b", tree.c1, "counsellor", full_name="咨询师丙")
    case = active_case
    with pytest.raises(ValidationError):
        services.do_change_counsellor(actor=counsellor_a, case=case, counsellor=other, reason="", client_informed=True)
    with pytest.raises(ValidationError, match="告知来访者"):
        services.do_change_counsellor(
            actor=counsellor_a, case=case, counsellor=other, reason="调岗", client_informed=False
        )
    case.refresh_from_db()
    assert case.counsellor_id == counsellor_a.pk
    event = services.do_change_counsellor(
        actor=counsellor_a, case=case, counsellor=other, reason="调岗", client_informed=True
    )
    assert event.kind == "counsellor" and event.client_informed and event.from_counsellor_id == counsellor_a.pk
    case.refresh_from_db()
    assert case.counsellor_id == other.pk


def test_consents(active_case, counsellor_a, minor):
    """S-PRIN-3, S-CLIENT-4: notices recorded; recording consent only per session; a minor's by the guardian."""
    consent = services.do_record_consent(
        actor=counsellor_a,
        client=active_case.client,
        case=active_case,
        kind="confidentiality_notice",
        given_by="client",
        notice_version="2026-1",
    )
    with pytest.raises(ValidationError, match="每次咨询"):
        services.do_record_consent(actor=counsellor_a, client=active_case.client, kind="recording", given_by="client")
    with pytest.raises(ValidationError, match="监护人"):
        services.do_record_consent(actor=counsellor_a, client=minor, kind="confidentiality_notice", given_by="client")
    services.do_withdraw_consent(actor=counsellor_a, consent=consent)
    with pytest.raises(ValidationError, match="已撤回"):
        services.do_withdraw_consent(actor=counsellor_a, consent=consent)


def session_data(**extra):
    data = {
        "duration_minutes": 50,
        "notes": "来访者谈到失眠与工作压力",
        "problem_focus": "睡眠",
        "framework": "认知行为",
    }
    data.update(extra)
    return data


def test_session_rules(active_case, counsellor_a, counsellor_b, tree):
    """S-FLOW-5, S-PRIN-3: only the case's counsellor records; diagnosis only by DIAGNOSE; recording
    consent per session."""
    with pytest.raises(ValidationError, match="初步诊断"):
        services.do_record_session(actor=counsellor_a, case=active_case, data=session_data(diagnosis="抑郁发作"))
    session = services.do_record_session(
        actor=counsellor_a, case=active_case, data=session_data(recording_consent=True)
    )
    consent = Consent.objects.visible_to(counsellor_a, "client.view").get(session=session)
    assert consent.kind == "recording"
    doctor = make_user("doctor", tree.s1, "psychiatrist", full_name="郑医生")
    # issue 14 item 1: a psychiatrist records only on a case assigned or referred to them.
    with pytest.raises(ValidationError, match="本个案的咨询师"):
        services.do_record_session(actor=doctor, case=active_case, data=session_data(diagnosis="轻度抑郁"))
    services.do_change_counsellor(
        actor=counsellor_a, case=active_case, counsellor=doctor, reason="转介精神科医生评估", client_informed=True
    )
    done = services.do_record_session(actor=doctor, case=active_case, data=session_data(diagnosis="轻度抑郁"))
    assert done.diagnosis == "轻度抑郁"
    colleague = make_user("counsellor_c1c", tree.c1, "counsellor")
    with pytest.raises(ValidationError, match="本个案的咨询师"):
        services.do_record_session(actor=colleague, case=active_case, data=session_data())
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT notes, diagnosis FROM casework_counsellingsession")
        raw = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert "失眠" not in raw and "抑郁" not in raw


def test_session_notes_visible_only_to_counsellor_and_readers_and_audited(active_case, counsellor_a, tree):
    """S-PRIN-3, X-4: notes show to the case's counsellor only (a psychiatrist only on cases assigned or
    referred to them, issue 14 item 1); each read is audited."""
    session = services.do_record_session(actor=counsellor_a, case=active_case, data=session_data())
    colleague = make_user("counsellor_c1c", tree.c1, "counsellor")
    doctor = make_user("doctor", tree.s1, "psychiatrist")
    url = f"/casework/sessions/{session.pk}/"
    reads = AuditEntry.objects.filter(action="read_sensitive", object_type="casework.counsellingsession")
    page = browser(counsellor_a).get(url).content.decode()
    assert "失眠与工作压力" in page and reads.count() == 1
    page = browser(doctor).get(url).content.decode()
    assert "失眠与工作压力" not in page and 'data-testid="notes-hidden"' in page and reads.count() == 1
    page = browser(colleague).get(url).content.decode()
    assert "失眠与工作压力" not in page and 'data-testid="notes-hidden"' in page and reads.count() == 1
    case_page = browser(counsellor_a).get(f"/casework/cases/{active_case.pk}/").content.decode()
    assert "失眠与工作压力" not in case_page and f"/casework/sessions/{session.pk}/" in case_page
    assert browser(make_user("cb", tree.c2, "counsellor")).get(url).status_code == 404
    api = APIClient()
    api.force_authenticate(colleague)
    assert "notes" not in api.get(f"/api/counselling-sessions/{session.pk}/").json()
    api.force_authenticate(doctor)
    assert "notes" not in api.get(f"/api/counselling-sessions/{session.pk}/").json()
    api.force_authenticate(counsellor_a)
    assert api.get(f"/api/counselling-sessions/{session.pk}/").json()["notes"].startswith("来访者谈到")
    assert "notes" not in api.get("/api/counselling-sessions/").json()["results"][0]
    assert reads.count() == 2


def test_confidentiality_override(active_case, counsellor_a, street_manager, tree):
    """S-PRIN-5: needs the permission, re-authentication and a justification; audited; responders told minimally."""
    district = make_user("district_boss", tree.district, "district_admin")
    with pytest.raises(ValidationError, match="突破保密"):
        services.do_override_confidentiality(
            actor=street_manager, case=active_case, ground="suicide", justification="来访者表达明确的自杀计划和时间"
        )
    http = browser(counsellor_a, reauth=False)
    assert http.get(f"/casework/cases/{active_case.pk}/override/").url.startswith("/accounts/reauth/")
    http = browser(counsellor_a)
    short = http.post(f"/casework/cases/{active_case.pk}/override/", {"ground": "suicide", "justification": "太短"})
    assert "至少 10 个字" in short.content.decode()
    response = http.post(
        f"/casework/cases/{active_case.pk}/override/",
        {"ground": "suicide", "justification": "来访者表达明确的自杀计划和时间，需立即联系家属"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(object_type="casework.confidentialityoverride").exists()
    note = Notification.objects.get(recipient=street_manager)
    assert note.body == f"来访者 #{active_case.client_id} 的个案触发保密例外（自杀或自伤意图），请立即联系 咨询师甲"
    assert "张三丰" not in note.body and "自杀计划" not in note.body
    assert not Notification.objects.filter(recipient=district).exists()  # nearest unit with a manager only
    assert not Notification.objects.filter(recipient=counsellor_a).exists()  # the actor is not told


def test_reception_and_open_case(client_a, counsellor_a, counsellor_b):
    """S-FLOW-3: the receptionist records the visit; the client is told flow and rights; crisis has an action."""
    data = {"reason": "近期失眠", "history": "无用药史", "told_flow_rights": False}
    with pytest.raises(ValidationError, match="告知"):
        services.do_record_reception(actor=counsellor_a, client=client_a, data=data)
    with pytest.raises(ValidationError, match="危机"):
        services.do_record_reception(
            actor=counsellor_a, client=client_a, data={**data, "told_flow_rights": True, "crisis": True}
        )
    with pytest.raises(ValidationError):
        services.do_record_reception(actor=counsellor_b, client=client_a, data={**data, "told_flow_rights": True})
    reception = services.do_record_reception(
        actor=counsellor_a, client=client_a, data={**data, "told_flow_rights": True}
    )
    assert reception.receptionist == counsellor_a and reception.unit_path == client_a.unit_path
    http = browser(counsellor_a)
    page = http.get(f"/casework/receptions/{reception.pk}/").content.decode()
    assert "近期失眠" in page
    assert AuditEntry.objects.filter(action="read_sensitive", object_type="casework.reception").count() == 1
    response = http.post(
        f"/casework/receptions/{reception.pk}/open-case/", {"counsellor": counsellor_a.pk, "requested_by": "client"}
    )
    assert response.status_code == 302
    reception.refresh_from_db()
    assert reception.case.client_id == client_a.pk and reception.case.counsellor_id == counsellor_a.pk


def test_pages_and_api_flow(client_a, counsellor_a, counsellor_b):
    """S-PRIN-1, S-FLOW-5: open a case, activate it, record a session through pages and API; scope holds."""
    http = browser(counsellor_a)
    response = http.post(
        "/casework/cases/new/", {"client": client_a.pk, "counsellor": counsellor_a.pk, "requested_by": "client"}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    with unscoped("test"):
        case = Case.objects.get(client=client_a)
    bad = http.post(
        f"/casework/cases/{case.pk}/transition/", {"to_state": "closed", "requested_by": "client", "reason": "x"}
    )
    assert bad.status_code == 200 and "选择一个有效的选项" in bad.content.decode()
    http.post(
        f"/casework/cases/{case.pk}/transition/", {"to_state": "active", "requested_by": "client", "reason": "开始"}
    )
    case.refresh_from_db()
    assert case.state == "active"
    form = {
        "happened_at": "2026-01-05 10:00",
        "duration_minutes": 50,
        "notes": "首次会谈",
        "severe_disorder_judgement": "none",
        "decision": "continue",
    }
    assert http.post(f"/casework/cases/{case.pk}/sessions/new/", form).status_code == 302
    page = http.get(f"/casework/cases/{case.pk}/").content.decode()
    assert "服务中" in page and "首次会谈" not in page
    assert browser(counsellor_b).get(f"/casework/cases/{case.pk}/").status_code == 404
    api = APIClient()
    api.force_authenticate(counsellor_a)
    assert [c["id"] for c in api.get("/api/cases/").json()["results"]] == [case.pk]
    refused = api.post(
        f"/api/cases/{case.pk}/transition/", {"to_state": "requested", "requested_by": "client", "reason": "x"}
    )
    assert refused.status_code == 400 and "不能变更为" in str(refused.json())
    ok = api.post(
        f"/api/cases/{case.pk}/transition/", {"to_state": "paused", "requested_by": "client", "reason": "出差"}
    )
    assert ok.status_code == 200 and ok.json()["state"] == "paused"
    api.force_authenticate(counsellor_b)
    assert api.get("/api/cases/").json()["results"] == []
    assert api.post("/api/cases/", {"client": client_a.pk}).status_code == 400
    assert CounsellingSession.objects.visible_to(counsellor_b, "note.view").count() == 0
    assert timezone.now()


def test_demo_data(tree, counsellor_a):
    """S-PRIN-1, S-FLOW-5: the demo seeds cases in several states with sessions and consents."""
    from apps.casework.demo import seed_demo_casework

    for i in range(6):
        do_register_client(actor=None, unit=tree.c1, data={"name": f"演示{i}", "birth_date": datetime.date(1990, 1, 1)})
    units = {"community-1-1": tree.c1, "community-2-1": tree.c3}
    assert seed_demo_casework(units, {"counsellor": counsellor_a}) == 6
    with unscoped("test"):
        states = set(Case.objects.values_list("state", flat=True))
        assert {"requested", "active", "paused", "closed", "referred"} <= states
        assert CounsellingSession.objects.exists() and Consent.objects.filter(kind="recording").exists()


def test_psychiatrist_reads_notes_only_of_cases_assigned_or_referred_to_them(active_case, counsellor_a, tree):
    """S-PRIN-3, X-4, issue 14 item 1: holding the psychiatrist role is not a key to every note in scope —
    the notes open once the case is referred to (its counsellor changed to) the psychiatrist, and close again
    when it is handed back."""
    from apps.casework import selectors

    session = services.do_record_session(actor=counsellor_a, case=active_case, data=session_data())
    doctor = make_user("doctor", tree.s1, "psychiatrist")
    api = APIClient()
    api.force_authenticate(doctor)
    url = f"/api/counselling-sessions/{session.pk}/"
    assert "notes" not in api.get(url).json()
    assert not selectors.can_read_notes(doctor, session)
    services.do_change_counsellor(
        actor=counsellor_a, case=active_case, counsellor=doctor, reason="转介精神科医生评估", client_informed=True
    )
    session.case.refresh_from_db()
    assert api.get(url).json()["notes"].startswith("来访者谈到")
    services.do_change_counsellor(
        actor=doctor, case=active_case, counsellor=counsellor_a, reason="评估完毕转回咨询师", client_informed=True
    )
    assert "notes" not in api.get(url).json()
