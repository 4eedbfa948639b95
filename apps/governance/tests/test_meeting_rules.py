"""Issue 13 item 9 (H-ORG-5): no meeting in the past unless recorded after it was held (and marked so);
invitations pick whole groups — board, standing board, a department, a committee — besides individuals."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.governance import selectors, services
from apps.governance.choices import Body
from apps.governance.models import Invitation, Meeting
from apps.membership import services as membership
from apps.membership.choices import PositionKind
from conftest import make_user

from .test_governance import Assoc, browser

SH = ZoneInfo("Asia/Shanghai")
# New Year's Eve, one minute before midnight in Beijing: "yesterday" and "today" differ in UTC and locally.
EVE = dt.datetime(2026, 12, 31, 23, 59, tzinfo=SH)


@pytest.fixture
def assoc(db):
    return Assoc()


@pytest.fixture
def sec(assoc):
    return make_user("g_sec", assoc.root, "association_secretariat", full_name="秘书长孙")


def create(assoc, sec, starts_at, **extra):
    kwargs = {
        "actor": sec, "unit": assoc.root, "body": Body.BOARD, "title": "理事会", "starts_at": starts_at,
        "place": "协会会议室", "invitees": [sec], **extra,
    }  # fmt: skip
    return services.do_create_meeting(**kwargs)


def _meeting_audit():
    return AuditEntry.objects.filter(object_type="governance.meeting").count()


@time_machine.travel(EVE, tick=False)
def test_meeting_in_the_past_is_refused_on_the_start_field(assoc, sec):
    """H-ORG-5: a board meeting dated 2020 (or one minute ago) is refused with a field error; nothing written."""
    before = _meeting_audit()
    for starts_at in (dt.datetime(2020, 3, 1, 9, 0, tzinfo=SH), EVE - dt.timedelta(minutes=1)):
        with pytest.raises(ValidationError) as refused:
            create(assoc, sec, starts_at)
        assert "已经过去" in refused.value.message_dict["starts_at"][0]
    assert not Meeting.objects.exists() and not Invitation.objects.exists()
    assert _meeting_audit() == before
    # the current minute still counts as now; the next day is fine
    assert create(assoc, sec, EVE).recorded_after_held is False
    assert create(assoc, sec, EVE + dt.timedelta(minutes=2)).starts_at > timezone.now()


@time_machine.travel(EVE, tick=False)
def test_meeting_already_held_is_recorded_and_marked(assoc, sec):
    """H-ORG-5: recording a meeting already held is the one way to a past start; the flag is stored, audited
    and shown on the list and the page; a 'held' meeting in the future is refused on the flag."""
    held = create(assoc, sec, dt.datetime(2020, 3, 1, 9, 0, tzinfo=SH), recorded_after_held=True)
    held.refresh_from_db()
    assert held.recorded_after_held is True
    entry = AuditEntry.objects.filter(object_type="governance.meeting", object_id=str(held.pk)).get()
    assert "recorded_after_held" in str(entry.changes)
    with pytest.raises(ValidationError) as refused:
        create(assoc, sec, EVE + dt.timedelta(days=1), recorded_after_held=True)
    assert "尚未到来" in refused.value.message_dict["recorded_after_held"][0]
    assert Meeting.objects.count() == 1
    http = browser(sec)
    assert "补录" in http.get(f"/governance/meetings/{held.pk}/").content.decode()
    assert "补录" in http.get("/governance/meetings/").content.decode()


@time_machine.travel(EVE, tick=False)
def test_past_meeting_refused_on_the_form_field_and_the_api(assoc, sec):
    """H-ORG-5: the form shows the error under 开始时间; the API answers 400 on ``starts_at``."""
    http = browser(sec)
    response = http.post(
        "/governance/meetings/new/",
        {"unit": assoc.root.pk, "body": "board", "title": "补开的理事会", "starts_at": "2020-03-01T09:00",
         "place": "会议室", "work_report_days": 7, "invitees": [sec.pk]},
    )  # fmt: skip
    assert response.status_code == 200
    page = response.content.decode()
    assert "已经过去" in page.split('name="starts_at"')[1][:1500]
    api = browser(sec)
    answer = api.post(
        "/api/governance/meetings/",
        {"unit": assoc.root.pk, "body": "board", "title": "接口会议", "starts_at": "2020-03-01T09:00:00+08:00",
         "place": "会议室", "invitees": [sec.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 400 and "starts_at" in answer.json()
    assert not Meeting.objects.exists()


def test_rescheduling_into_the_past_is_refused(assoc, sec):
    """H-ORG-5: an upcoming meeting cannot be moved to a past time either."""
    meeting = create(assoc, sec, timezone.now() + dt.timedelta(days=3))
    with pytest.raises(ValidationError) as refused:
        services.do_update_meeting(
            actor=sec, meeting=meeting, version=meeting.version, title="理事会", place="协会会议室",
            starts_at=timezone.now() - dt.timedelta(days=1), is_work_meeting=True, work_report_days=7,
            invitees=[sec],
        )  # fmt: skip
    assert "starts_at" in refused.value.message_dict
    meeting.refresh_from_db()
    assert meeting.version == 1 and meeting.starts_at > timezone.now()


@pytest.fixture
def people(assoc, sec):
    """Two directors (one also standing director), a department officer and a committee member."""
    today = timezone.localdate()

    def enrol(username, name, unit=None):
        user = make_user(username, unit or assoc.root, None, full_name=name)
        return membership.do_create_member(
            actor=None, association=assoc.root, user=user, name=name, joined_on=today - dt.timedelta(days=400)
        )

    standing, director = enrol("g_standing", "常务理事甲"), enrol("g_director", "理事乙")
    officer, crisis = enrol("g_officer", "部员丙"), enrol("g_crisis", "委员丁")
    start = today - dt.timedelta(days=30)
    membership.do_appoint(actor=None, member=standing, kind=PositionKind.STANDING_DIRECTOR, term_start=start)
    membership.do_appoint(actor=None, member=director, kind=PositionKind.DIRECTOR, term_start=start)
    membership.do_appoint(
        actor=None, member=officer, kind=PositionKind.DEPARTMENT_STAFF, term_start=start, unit=assoc.dept
    )
    membership.do_join_committee(actor=None, member=crisis, committee=assoc.committee)
    return {"standing": standing.user, "director": director.user, "officer": officer.user, "crisis": crisis.user}


def test_invitation_groups_expand_to_their_members(assoc, sec, people):
    """H-ORG-5: the organiser picks groups (board, standing board, a department, a committee) and may add
    individuals; the service invites every current member of each group once."""
    choices = dict(selectors.invitation_groups(sec))
    assert {f"board:{assoc.root.pk}", f"standing_board:{assoc.root.pk}", f"unit:{assoc.dept.pk}"} <= set(choices)
    assert choices[f"board:{assoc.root.pk}"] == "理事会（2 人）"
    assert choices[f"standing_board:{assoc.root.pk}"] == "常务理事会（1 人）"
    meeting = create(
        assoc, sec, timezone.now() + dt.timedelta(days=5),
        groups=[f"board:{assoc.root.pk}", f"standing_board:{assoc.root.pk}", f"unit:{assoc.committee.pk}"],
    )  # fmt: skip
    invited = set(meeting.invitations.values_list("user_id", flat=True))
    assert invited == {sec.pk, people["standing"].pk, people["director"].pk, people["crisis"].pk}
    dept = create(assoc, sec, timezone.now() + dt.timedelta(days=6), groups=[f"unit:{assoc.dept.pk}"], invitees=[])
    assert set(dept.invitations.values_list("user_id", flat=True)) == {people["officer"].pk}


def test_a_group_of_another_association_is_refused(assoc, sec, people):
    """H-ORG-5: groups come from the meeting's own association; an unknown or foreign group changes nothing."""
    other = Assoc("X")
    for key in (f"board:{other.root.pk}", f"unit:{other.committee.pk}", "board:abc", "nonsense"):
        with pytest.raises(ValidationError) as refused:
            create(assoc, sec, timezone.now() + dt.timedelta(days=5), groups=[key])
        assert "groups" in refused.value.message_dict
    with pytest.raises(ValidationError, match="参会"):
        create(assoc, sec, timezone.now() + dt.timedelta(days=5), invitees=[])
    assert not Meeting.objects.exists()


def test_meeting_form_offers_groups_with_select_all(assoc, sec, people):
    """H-ORG-5: the form shows the groups with a select-all box and folds the individual list away."""
    page = browser(sec).get("/governance/meetings/new/").content.decode()
    assert 'data-select-all="groups"' in page and "理事会（2 人）" in page and "危机干预专委会" in page
    assert 'data-testid="individual-invitees"' in page
    starts = timezone.localtime(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = browser(sec).post(
        "/governance/meetings/new/",
        {"unit": assoc.root.pk, "body": "board", "title": "理事会", "starts_at": starts, "place": "会议室",
         "work_report_days": 7, "groups": [f"board:{assoc.root.pk}"]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    assert Meeting.objects.get().invitations.count() == 2
