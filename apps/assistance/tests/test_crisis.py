"""H-SVC-3: rapid crisis response — roster, events, mobilisation, dispatch, hotline rota."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from apps.assistance import selectors, services
from apps.assistance.models import Dispatch, HotlineShift, HoursRecord, Responder

from .conftest import SH, Association, assign_role, at, browser, make_user


def responder(assoc, user, unit, skills=("crisis_intervention",), **extra):
    data = {
        "trained_on": dt.date(2025, 4, 1), "skills": list(skills), "available_from": dt.time(0, 0),
        "available_to": dt.time(23, 59), "contact": "13800138000", "available_weekdays": "1234567",
    }  # fmt: skip
    data.update(extra)
    return services.do_register_responder(actor=assoc.secretariat, user=user, unit=unit, **data)


@pytest.fixture
def roster(assoc):
    """Four responders: two in the crisis committee, one in the youth committee, one unavailable."""
    extra = make_user("cz", assoc.crisis, "member", full_name="危机会员小周")
    paused = make_user("cp", assoc.crisis, "member", full_name="暂停会员小潘")
    return {
        "chen": responder(assoc, assoc.crisis_member, assoc.crisis, ("crisis_intervention", "grief", "hotline")),
        "zhou": responder(assoc, extra, assoc.crisis, ("crisis_intervention", "children")),
        "xu": responder(assoc, assoc.counsellor_x, assoc.youth, ("children", "hotline")),
        "pan": responder(assoc, paused, assoc.crisis, ("crisis_intervention",), status="unavailable"),
    }


@pytest.fixture
def event(assoc):
    return services.do_register_event(
        actor=assoc.secretariat, unit=assoc.root, title="某中学学生意外事件", kind="school_suicide",
        place="示范市第一中学", occurred_at=timezone.now() - dt.timedelta(hours=3), scale=300, severity="larger",
    )  # fmt: skip


def window(hours_from_now=2, length=4):
    start = (timezone.now() + dt.timedelta(hours=hours_from_now)).replace(microsecond=0)
    return start, start + dt.timedelta(hours=length)


def names(rows):
    return sorted(r.user.username for r in rows)


def test_mobilisation_filters_by_committee_skill_and_availability(assoc, roster, event, django_assert_num_queries):
    """H-SVC-3: one query finds available responders; committee and skill narrow it; unavailable ones never show."""
    start, end = window()
    with django_assert_num_queries(2):  # the candidates, and their skills (prefetch) — not one per responder
        everyone = list(selectors.mobilisation_candidates(assoc.secretariat, event, start, end))
    assert names(everyone) == ["cm", "cx", "cz"]
    crisis = selectors.mobilisation_candidates(assoc.secretariat, event, start, end, committee=assoc.crisis)
    assert names(crisis) == ["cm", "cz"]
    children = selectors.mobilisation_candidates(assoc.secretariat, event, start, end, skill="children")
    assert names(children) == ["cx", "cz"]
    grief_in_youth = selectors.mobilisation_candidates(
        assoc.secretariat, event, start, end, committee=assoc.youth, skill="grief"
    )
    assert names(grief_in_youth) == []


def test_mobilisation_respects_weekly_periods(assoc, event):
    """H-SVC-3: a responder available only on weekday evenings is not offered for a Saturday morning."""
    member = make_user("ev", assoc.crisis, "member", full_name="晚间会员")
    responder(
        assoc, member, assoc.crisis, available_weekdays="12345", available_from=dt.time(18), available_to=dt.time(22)
    )
    saturday_morning = at(2026, 11, 28, 9)
    weekday_evening = at(2026, 11, 25, 19)
    one_hour = dt.timedelta(hours=1)
    assert (
        names(
            selectors.mobilisation_candidates(assoc.secretariat, event, saturday_morning, saturday_morning + one_hour)
        )
        == []
    )
    assert names(
        selectors.mobilisation_candidates(assoc.secretariat, event, weekday_evening, weekday_evening + one_hour)
    ) == ["ev"]


def test_dispatched_or_on_duty_responders_are_excluded(assoc, roster, event):
    """H-SVC-3: someone already dispatched or on hotline duty at an overlapping time is not offered again."""
    start, end = window()
    services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=start, ends_at=end
    )
    services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=roster["xu"], starts_at=start + dt.timedelta(hours=1),
        ends_at=start + dt.timedelta(hours=3),
    )  # fmt: skip
    assert names(selectors.mobilisation_candidates(assoc.secretariat, event, start, end)) == ["cz"]
    later = end + dt.timedelta(hours=1)
    assert names(selectors.mobilisation_candidates(assoc.secretariat, event, later, later + dt.timedelta(hours=2))) == [
        "cm",
        "cx",
        "cz",
    ]


def test_dispatch_refuses_busy_or_unavailable_and_writes_nothing(assoc, roster, event):
    """H-SVC-3: dispatching a busy or unavailable responder is refused in Chinese; the whole batch is rolled back."""
    start, end = window()
    services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=start, ends_at=end
    )
    with pytest.raises(ValidationError, match="已有调派或热线值班"):
        services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["zhou"], roster["chen"]], role="counsellor",
            starts_at=start + dt.timedelta(hours=1), ends_at=end,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="不可调派"):
        services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["pan"]], role="counsellor", starts_at=start,
            ends_at=end,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="结束时间须晚于开始时间"):
        services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["zhou"]], role="counsellor", starts_at=end,
            ends_at=start,
        )  # fmt: skip
    assert Dispatch.objects.count() == 1


def test_dispatch_notifies_and_report_records_volunteer_hours(assoc, roster, event):
    """H-SVC-3, H-SVC-4: the responder is told; reported hours and services become confirmed volunteer hours."""
    from apps.notifications.models import Notification

    start, end = window(hours_from_now=-5, length=4)
    [dispatch] = services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["zhou"]], role="counsellor", starts_at=start,
        ends_at=end,
    )  # fmt: skip
    assert Notification.objects.filter(recipient=roster["zhou"].user, title__startswith="应急援助调派通知").exists()
    with pytest.raises(ValidationError, match="不能超过 4"):
        services.do_report_dispatch(
            actor=assoc.secretariat, dispatch=dispatch, hours="6", people_served=20, services={"individual": 5}
        )
    with pytest.raises(ValidationError, match="请至少选择一项"):
        services.do_report_dispatch(
            actor=assoc.secretariat, dispatch=dispatch, hours="3", people_served=20, services={}
        )
    services.do_report_dispatch(
        actor=assoc.secretariat, dispatch=dispatch, hours="3.5", people_served=42,
        services={"group_debriefing": 30, "individual": 8, "referral": 1}, summary="两场团体晤谈", version=1,
    )  # fmt: skip
    dispatch.refresh_from_db()
    assert dispatch.status == "completed" and dispatch.services.count() == 3
    hours = HoursRecord.objects.get(dispatch=dispatch)
    assert hours.kind == "volunteer" and hours.status == "confirmed" and hours.member == roster["zhou"].user
    assert selectors.hours_for_user(roster["zhou"].user)["this_year"]["volunteer"] == Decimal("3.5")
    assert services.do_close_event(actor=assoc.secretariat, event=event).status == "closed"


def test_event_close_waits_for_open_dispatches(assoc, roster, event):
    """H-SVC-3: an event with a dispatch still open cannot be closed; after cancelling it can."""
    start, end = window()
    [dispatch] = services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["zhou"]], role="counsellor",
        starts_at=start, ends_at=end,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="请先登记或取消"):
        services.do_close_event(actor=assoc.secretariat, event=event)
    services.do_cancel_dispatch(actor=assoc.secretariat, dispatch=dispatch, reason="家长已安排校医")
    event = services.do_close_event(actor=assoc.secretariat, event=event, version=1)
    assert event.status == "closed"
    with pytest.raises(ValidationError, match="已经结束"):
        services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["zhou"]], role="counsellor", starts_at=start,
            ends_at=end,
        )  # fmt: skip


def test_roster_rules(assoc, roster):
    """H-SVC-3: a responder must be a member of the unit, once only, with a skill and a valid mobile."""
    with pytest.raises(ValidationError, match="已在应急援助人员名册"):
        responder(assoc, assoc.crisis_member, assoc.crisis)
    with pytest.raises(ValidationError, match="须是本单位"):
        responder(assoc, assoc.counsellor_y, assoc.crisis)
    with pytest.raises(ValidationError, match="至少选择一项援助技能"):
        responder(assoc, assoc.counsellor_y, assoc.youth, skills=())
    with pytest.raises(ValidationError, match="手机号码"):
        responder(assoc, assoc.counsellor_y, assoc.youth, contact="0571-1234")
    with pytest.raises(ValidationError, match="结束须晚于开始"):
        responder(assoc, assoc.counsellor_y, assoc.youth, available_from=dt.time(20), available_to=dt.time(8))
    assert Responder.objects.count() == 4
    updated = services.do_update_responder(
        actor=assoc.secretariat, responder=roster["zhou"], trained_on=dt.date(2025, 4, 1), skills=["grief"],
        available_from=dt.time(8), available_to=dt.time(20), contact="13900001111", available_weekdays="67",
        status="available", version=1,
    )  # fmt: skip
    assert list(updated.skills.values_list("skill", flat=True)) == ["grief"] and updated.version == 2


def test_one_responder_cannot_hold_two_overlapping_shifts(assoc, roster):
    """H-SVC-3: an overlapping shift for the same person is refused in Chinese; back-to-back is fine."""
    chen = roster["chen"]
    first = services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=chen, starts_at=at(2026, 12, 1, 8),
        ends_at=at(2026, 12, 1, 12),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="同一人不能同时值两个班"):
        services.do_add_shift(
            actor=assoc.secretariat, unit=assoc.root, responder=chen, starts_at=at(2026, 12, 1, 11),
            ends_at=at(2026, 12, 1, 14),
        )  # fmt: skip
    services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=chen, starts_at=first.ends_at, ends_at=at(2026, 12, 1, 16)
    )
    with pytest.raises(ValidationError, match="热线接听"):
        services.do_add_shift(
            actor=assoc.secretariat, unit=assoc.root, responder=roster["zhou"], starts_at=at(2026, 12, 2, 8),
            ends_at=at(2026, 12, 2, 12),
        )  # fmt: skip
    with pytest.raises(ValidationError, match="不能超过 12 小时"):
        services.do_add_shift(
            actor=assoc.secretariat, unit=assoc.root, responder=chen, starts_at=at(2026, 12, 3, 8),
            ends_at=at(2026, 12, 4, 8),
        )  # fmt: skip
    assert HotlineShift.objects.count() == 2


def test_rota_week_view(assoc, roster):
    """H-SVC-3: the rota page shows one week, Monday to Sunday, with each day's shifts."""
    services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=roster["chen"], starts_at=at(2026, 12, 2, 8),
        ends_at=at(2026, 12, 2, 12),
    )  # fmt: skip
    days = selectors.rota(assoc.secretariat, dt.date(2026, 11, 30))
    assert [d for d, _ in days][0] == dt.date(2026, 11, 30) and len(days) == 7
    assert [len(shifts) for _, shifts in days] == [0, 0, 1, 0, 0, 0, 0]
    page = browser(assoc.secretariat).get("/assistance/rota/?week=2026-12-03").content.decode()
    assert "危机会员小陈" in page and "2026-11-30" in page
    assert (
        "危机会员小陈" not in browser(assoc.other_secretariat).get("/assistance/rota/?week=2026-12-03").content.decode()
    )


def test_other_association_cannot_see_or_dispatch(assoc, roster, event):
    """H-SVC-3: the neighbouring association gets 404 for the event and cannot dispatch our responders."""
    http = browser(assoc.other_secretariat)
    assert http.get(f"/assistance/events/{event.pk}/").status_code == 404
    assert http.get(f"/assistance/events/{event.pk}/mobilise/").status_code == 404
    assert "危机会员小陈" not in http.get("/assistance/responders/").content.decode()
    start, end = window()
    with pytest.raises(ValidationError):
        services.do_dispatch(
            actor=assoc.other_secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=start,
            ends_at=end,
        )  # fmt: skip
    other_event = services.do_register_event(
        actor=assoc.other_secretariat, unit=assoc.other, title="邻市事件", kind="accident", place="邻市",
        occurred_at=timezone.now(), scale=5, severity="general",
    )  # fmt: skip
    assert selectors.mobilisation_candidates(assoc.other_secretariat, other_event, start, end).count() == 0
    with pytest.raises(ValidationError, match="不属于负责该事件的单位"):
        services.do_dispatch(
            actor=None, event=other_event, responders=[roster["chen"]], role="leader", starts_at=start, ends_at=end
        )


def test_mobilise_page_dispatches(assoc, roster, event):
    """H-SVC-3: the mobilise page filters by skill and dispatches the ticked responders; a committee head
    reaches only events of their own committee."""
    assert browser(assoc.head_crisis).get(f"/assistance/events/{event.pk}/mobilise/").status_code == 404
    http = browser(assoc.secretariat)
    start, end = window()
    fmt = "%Y-%m-%dT%H:%M"
    params = {
        "starts_at": start.astimezone(SH).strftime(fmt), "ends_at": end.astimezone(SH).strftime(fmt),
        "skill": "grief", "committee": "",
    }  # fmt: skip
    page = http.get(f"/assistance/events/{event.pk}/mobilise/", params).content.decode()
    assert "危机会员小陈" in page and "危机会员小周" not in page and "暂停会员小潘" not in page
    response = http.post(
        f"/assistance/events/{event.pk}/mobilise/", {**params, "role": "leader", "responders": [roster["chen"].pk]}
    )
    assert response.status_code == 302
    assert Dispatch.objects.get().responder == roster["chen"]


def test_tasks_for_user_shows_upcoming_shifts_and_dispatches(assoc, roster, event):
    """H-SVC-3: the member's task list has their coming shifts and dispatches, not past or others' ones."""
    start, end = window(hours_from_now=30)
    services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=start, ends_at=end
    )
    services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=roster["chen"], starts_at=end + dt.timedelta(hours=1),
        ends_at=end + dt.timedelta(hours=3),
    )  # fmt: skip
    tasks = selectors.tasks_for_user(assoc.crisis_member)
    assert len(tasks["dispatches"]) == 1 and len(tasks["shifts"]) == 1
    assert selectors.tasks_for_user(assoc.counsellor_y) == {"help_requests": [], "shifts": [], "dispatches": []}


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_booking_is_refused_on_postgresql():
    """H-SVC-3: two simultaneous requests to put one responder on overlapping shifts — exactly one wins."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE")
    assoc = Association()
    chen = responder(assoc, assoc.crisis_member, assoc.crisis, ("hotline",))
    barrier = threading.Barrier(2)
    results = []

    def book(offset):
        try:
            barrier.wait(timeout=10)
            services.do_add_shift(
                actor=None, unit=assoc.root, responder=chen, starts_at=at(2026, 12, 7, 8 + offset),
                ends_at=at(2026, 12, 7, 12 + offset),
            )  # fmt: skip
            results.append("ok")
        except ValidationError as error:
            results.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count("ok") == 1, results
    assert len(results) == 2 and any("同一人不能同时值两个班" in r for r in results)
    assert HotlineShift.objects.filter(responder=chen).count() == 1


def test_assign_role_helper_keeps_committee_membership(assoc):
    """H-SVC-1: a member assigned to a second committee counts as that committee's counsellor too."""
    assign_role(assoc.counsellor_x, assoc.crisis, "member")
    assert services.is_committee_member(assoc.crisis, assoc.counsellor_x)
    assert not services.is_committee_member(assoc.crisis, assoc.counsellor_y)


def test_no_hotline_shift_while_dispatched(assoc, roster, event):
    """H-SVC-3: a responder dispatched to an event cannot be put on the hotline at the same time."""
    start, end = window(hours_from_now=48)
    services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=start, ends_at=end
    )
    with pytest.raises(ValidationError, match="已被调派"):
        services.do_add_shift(
            actor=assoc.secretariat, unit=assoc.root, responder=roster["chen"], starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
        )  # fmt: skip
    assert not HotlineShift.objects.exists()


def test_shift_reminder_the_day_before(assoc, roster):
    """H-SVC-3, X-7: the responder is reminded of tomorrow's hotline shift, once (one dedupe key per shift)."""
    from apps.assistance import reminders

    tomorrow = services.today() + dt.timedelta(days=1)
    shift = services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=roster["chen"], starts_at=at(*tomorrow.timetuple()[:3], 8),
        ends_at=at(*tomorrow.timetuple()[:3], 12),
    )  # fmt: skip
    due = list(reminders.shifts_tomorrow(timezone.now()))
    assert [(r.user, r.dedupe_key) for r in due] == [
        (assoc.crisis_member, f"shift:{shift.pk}:{assoc.crisis_member.pk}")
    ]
    assert list(reminders.shifts_tomorrow(timezone.now() + dt.timedelta(days=1))) == []
