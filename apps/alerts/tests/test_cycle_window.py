"""Which contacts and visits count for a follow-up cycle (issue 13 item 2), with honest times.

The walk that found the bugs ran on demo data seeded with the clock at 08:00 Beijing time while the
acts happened in the evening. Here the clock is frozen the same way (time-machine): a file tagged in
the early morning and opened at 06:00, a home visit made before it existed, contacts in the evening.
Cause: the cycle window was a *date* (``cycle_started`` at 00:00) — so anything earlier the same day
counted — and a cycle finished early let the next one begin at the old due date, in the future, so a
contact recorded in the (already current) next cycle fell before its window.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client as Browser

from apps.alerts import services
from apps.alerts.choices import EventKind
from apps.alerts.models import ContactRecord, FollowUpCycle, WarningEvent
from apps.audit.models import AuditEntry
from apps.core.scoping import unscoped
from apps.outreach.services import do_plan_visit, do_record_visit

from .conftest import phq9

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 31)  # the last day of a year: the next cycle runs into the next one


def at(hour: int, minute: int = 0, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=SH)


@pytest.fixture
def clock():
    """A frozen clock at 03:00 Beijing time that the test moves explicitly."""
    with time_machine.travel(at(3), tick=False) as traveller:
        yield traveller


@pytest.fixture
def opened(clock, worker, district_admin, counsellor_a, key_client):
    """Tagged at 03:00, a PHQ-9 of 22 at 05:00, opened red at 06:00 — as the demo seeded at 08:00 does."""
    warning = services.do_tag_key_person(actor=worker, client=key_client, proposed_colour=3, reason="独居，拒绝进食")
    clock.move_to(at(5))
    result = phq9(key_client, 22)
    clock.move_to(at(6))
    return services.do_set_colour(actor=district_admin, warning=warning, result=result, counsellor=counsellor_a)


def home_visit(client, staff, visited_at):
    planned = do_plan_visit(actor=staff[0], client=client, kind="ad_hoc", planned_for=visited_at.date(), staff=staff)
    return do_record_visit(
        actor=staff[0], visit=planned, visited_at=visited_at, staff=staff, family_present="母亲",
        record="情绪低落，家属在场。",
    )  # fmt: skip


def contact(warning, counsellor, happened_at, note="电话随访"):
    return services.do_record_contact(
        actor=counsellor, warning=warning, kind="phone", happened_at=happened_at, note=note
    )


def counts(warning):
    with unscoped("test assertion"):
        return (
            ContactRecord.objects.filter(warning=warning).count(),
            WarningEvent.objects.filter(warning=warning).count(),
            AuditEntry.objects.count(),
        )


def test_visit_before_the_warning_or_the_cycle_never_counts(opened, clock, key_client, counsellor_a, worker):
    """S-WARN-4: a home visit 4 hours before the file existed (02:00) or before it was opened (04:00) is not cycle 1."""
    clock.move_to(at(20))
    home_visit(key_client, [counsellor_a, worker], at(2))  # before the tag at 03:00
    home_visit(key_client, [counsellor_a, worker], at(4))  # after the tag, before the colour was set at 06:00
    with pytest.raises(ValidationError, match="上门关怀记录或联系记录") as refused:
        services.do_complete_cycle(actor=counsellor_a, warning=opened)
    assert refused.value.code == "no_contact"
    with unscoped("test assertion"):
        assert not FollowUpCycle.objects.filter(warning=opened).exists()
    # A visit inside the cycle counts, and it is the one recorded on the cycle.
    inside = home_visit(key_client, [counsellor_a, worker], at(19, 30))
    warning = services.do_complete_cycle(actor=counsellor_a, warning=opened)
    with unscoped("test assertion"):
        cycle = FollowUpCycle.objects.get(warning=warning, number=1)
    assert cycle.visit == inside and cycle.started_at == at(6) and cycle.completed_at == at(20)


def test_contact_dated_before_the_warning_or_the_cycle_is_refused_on_its_field(opened, clock, counsellor_a):
    """S-WARN-4: a contact dated before the file existed or the current cycle began is refused; nothing written."""
    clock.move_to(at(20))
    before = counts(opened)
    for moment, words in ((at(2), "预警档案建立"), (at(5, 59), "本周期开始")):
        with pytest.raises(ValidationError) as refused:
            contact(opened, counsellor_a, moment)
        assert words in refused.value.message_dict["happened_at"][0]
    assert counts(opened) == before
    # In cycle 2 (begun at 20:00 when cycle 1 was completed), a contact of cycle 1's afternoon is refused too.
    contact(opened, counsellor_a, at(15))
    warning = services.do_complete_cycle(actor=counsellor_a, warning=opened)
    clock.move_to(at(21))
    before = counts(warning)
    with pytest.raises(ValidationError) as refused:
        contact(warning, counsellor_a, at(16))
    assert "本周期开始" in refused.value.message_dict["happened_at"][0]
    assert counts(warning) == before


def test_contact_in_the_future_is_refused_on_its_field(opened, clock, counsellor_a):
    """S-WARN-4: a contact dated in the future (tomorrow, or an hour ahead) is refused on its field, nothing written."""
    clock.move_to(at(20))
    before = counts(opened)
    for moment in (at(9, day=DAY + dt.timedelta(days=1)), at(21)):
        with pytest.raises(ValidationError) as refused:
            contact(opened, counsellor_a, moment)
        assert "不能晚于现在" in refused.value.message_dict["happened_at"][0]
    assert counts(opened) == before


def test_contact_recorded_in_the_current_cycle_always_counts(opened, clock, counsellor_a):
    """S-WARN-4: cycle 1 finished early in the evening; a contact recorded in cycle 2 completes cycle 2."""
    clock.move_to(at(20, 0, 30))
    contact(opened, counsellor_a, at(20))  # the form's default: the current minute
    warning = services.do_complete_cycle(actor=counsellor_a, warning=opened)
    assert warning.cycle_number == 2 and warning.cycle_started == DAY + dt.timedelta(days=7)  # no running ahead
    assert warning.cycle_started_at == at(20, 0, 30)
    # Seconds later, the page's contact form still says 20:00: the contact is of cycle 2 all the same.
    clock.move_to(at(20, 0, 45))
    second = contact(warning, counsellor_a, at(20), note="再次电话，情绪稍好")
    warning = services.do_complete_cycle(actor=counsellor_a, warning=warning)
    with unscoped("test assertion"):
        cycle = FollowUpCycle.objects.get(warning=warning, number=2)
    assert cycle.contact == second and warning.cycle_number == 3
    assert warning.cycle_due == DAY + dt.timedelta(days=21)  # the schedule keeps its own pace
    with unscoped("test assertion"):
        assert WarningEvent.objects.filter(warning=warning, kind=EventKind.CYCLE_COMPLETED).count() == 2


def test_contact_after_midnight_counts_for_a_cycle_begun_the_evening_before(opened, clock, counsellor_a):
    """S-WARN-4: a cycle completed at 23:59 on 12-31; a contact at 00:10 on 01-01 counts for the next one."""
    clock.move_to(at(23, 59))
    contact(opened, counsellor_a, at(23, 58))
    warning = services.do_complete_cycle(actor=counsellor_a, warning=opened)
    clock.move_to(at(0, 20, day=DAY + dt.timedelta(days=1)))
    contact(warning, counsellor_a, at(0, 10, day=DAY + dt.timedelta(days=1)))
    assert services.do_complete_cycle(actor=counsellor_a, warning=warning).cycle_number == 3


def test_reassessment_before_the_cycle_does_not_count(tree, opened, clock, counsellor_a, key_client):
    """S-WARN-4, S-WARN-6: with a re-assessment every cycle, a PHQ-9 taken before the file was opened is not one."""
    services.do_update_policy(
        actor=None, tenant=tree.city,
        data={"red_cycle_days": 7, "orange_cycle_days": 14, "yellow_cycle_days": 30, "feedback_days": 3,
              "review_cycles": 3, "reassess_every": 1, "unchanged_delta": 2},
    )  # fmt: skip
    clock.move_to(at(5, 30))
    phq9(key_client, 21)  # after the basis (05:00), before the colour was set (06:00)
    clock.move_to(at(20))
    contact(opened, counsellor_a, at(20))
    with pytest.raises(ValidationError, match="复评"):
        services.do_complete_cycle(actor=counsellor_a, warning=opened)
    phq9(key_client, 20)
    assert services.do_complete_cycle(actor=counsellor_a, warning=opened).cycle_number == 2


def test_contact_page_shows_the_error_on_the_field(opened, clock, counsellor_a):
    """S-WARN-4: the file page re-shows the contact form with the Chinese error under 联系时间."""
    clock.move_to(at(20))
    browser = Browser()
    browser.force_login(counsellor_a)
    page = browser.post(
        f"/alerts/warnings/{opened.pk}/contacts/", {"kind": "phone", "happened_at": "2026-12-31T05:00", "note": "电话"}
    )
    assert page.status_code == 200
    form = page.context["contact_form"]
    assert "本周期开始" in form.errors["happened_at"][0]
    html = page.content.decode()
    assert 'data-testid="contact-card" open' in html and "invalid-feedback" in html
    with unscoped("test assertion"):
        assert not ContactRecord.objects.filter(warning=opened).exists()
