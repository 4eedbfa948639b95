"""QA fixes on meetings: local dates in self-service, only active members/staff invited, labelled pick-lists."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import Assignment
from apps.governance import services
from apps.governance.forms import MeetingForm
from apps.governance.models import Invitation
from apps.membership import services as membership
from apps.membership.choices import MemberStatus
from apps.membership.models import Member
from conftest import make_user

from .test_governance import Assoc, browser, make_meeting

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture
def assoc(db):
    return Assoc()


@pytest.fixture
def sec(assoc):
    return make_user("q_sec", assoc.root, "association_secretariat", full_name="秘书长孙")


def enrol(assoc, username, name, joined=dt.date(2026, 1, 5)):
    user = make_user(username, assoc.root, None, full_name=name)
    return membership.do_create_member(actor=None, association=assoc.root, user=user, name=name, joined_on=joined)


def revoke_record(member):
    """The state a revocation leaves (H-MEM-5): member row revoked, member role gone, home unit unchanged."""
    Member.objects.filter(pk=member.pk).update(status=MemberStatus.REVOKED, revoked_on=dt.date(2026, 4, 1))
    Assignment.objects.filter(user=member.user, role__code="member").delete()


def test_self_service_shows_the_local_meeting_date(assoc, sec):
    """H-ORG-5, X-1: a meeting at 06:48 Beijing time shows its Beijing date on /membership/me/, not the UTC one."""
    member = enrol(assoc, "early", "早会会员")
    day = dt.datetime.now(SH).date() + dt.timedelta(days=10)
    starts = dt.datetime(day.year, day.month, day.day, 6, 48, tzinfo=SH)
    meeting = make_meeting(assoc, sec, [member.user], starts_at=starts)
    assert str(meeting) == f"第三次理事会（{day:%Y-%m-%d}）"
    page = browser(member.user).get("/membership/me/").content.decode()
    assert f"{day:%Y-%m-%d}" in page
    assert f"{day - dt.timedelta(days=1):%Y-%m-%d}" not in page


def test_revoked_member_cannot_be_invited(assoc, sec):
    """H-ORG-5, H-MEM-5: a revoked member is not in the invitee list and an invitation to them is refused;
    active members and staff still are."""
    active = enrol(assoc, "active", "在册会员")
    gone = enrol(assoc, "gone", "已撤销会员")
    revoke_record(gone)
    page = browser(sec).get("/governance/meetings/new/").content.decode()
    assert "在册会员" in page and "已撤销会员" not in page
    with pytest.raises(ValidationError, match="在册"):
        make_meeting(assoc, sec, [active.user, gone.user])
    assert not Invitation.objects.exists()
    meeting = make_meeting(assoc, sec, [active.user, sec])
    assert set(meeting.invitations.values_list("user_id", flat=True)) == {active.user_id, sec.pk}


def test_revoked_member_with_a_staff_role_stays_eligible(assoc, sec):
    """H-ORG-5: someone whose membership ended but who works for the association (staff role) may be invited."""
    staff = enrol(assoc, "staffer", "工作人员")
    revoke_record(staff)
    Assignment.objects.create(user=staff.user, unit=assoc.dept, role_id=sec.assignments.first().role_id)
    assert services.eligible_people(assoc.root).filter(pk=staff.user_id).exists()


def test_invitee_choices_carry_the_member_number(assoc, sec):
    """H-ORG-5: equal names are told apart — members labelled "2026-0001 林雨欣", others with their unit."""
    first, second = enrol(assoc, "lin1", "林雨欣"), enrol(assoc, "lin2", "林雨欣")
    form = MeetingForm(people=services.eligible_people(assoc.root).order_by("id"), units=None)
    labels = {value.value: label for value, label in form.fields["invitees"].choices}
    assert labels[first.user_id] == f"{first.number} 林雨欣"
    assert labels[second.user_id] == f"{second.number} 林雨欣"
    assert labels[sec.pk] == f"秘书长孙（{assoc.root.name}）"
    page = browser(sec).get("/governance/meetings/new/").content.decode()
    assert f"{first.number} 林雨欣" in page and f"{second.number} 林雨欣" in page


def test_duty_report_leader_must_be_active(assoc, sec):
    """H-ORG-5: a duty report cannot be asked of a revoked member."""
    gone = enrol(assoc, "gone2", "撤销负责人")
    revoke_record(gone)
    with pytest.raises(ValidationError, match="在册"):
        services.do_request_duty_report(
            actor=sec, unit=assoc.root, year=2026, leader=gone.user, position_title="部长",
            due_date=dt.date(2026, 12, 31),
        )  # fmt: skip
