"""H-SVC-3 (issue 13 item 7): night mobilisation, reasoned out-of-hours dispatch, honest notices.

At 00:30 nobody's own available period (07:00–22:00 here, as in the demo) covers the window: the
page lists the nearest qualified people and the coordinator may send one of them with a reason.
An urgent dispatch sends an SMS through the configured backend as well as the inbox, and the
pages say per person and channel what really went out.
"""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from huey.contrib.djhuey import HUEY

from apps.assistance import selectors, services
from apps.assistance.models import Dispatch
from apps.audit.models import AuditEntry
from apps.notifications.backends import SmsError, sms_outbox
from apps.notifications.models import Delivery, Notification

from .conftest import SH, Association, browser, make_user

NIGHT = dt.datetime(2027, 3, 10, 0, 30, tzinfo=SH)  # a Wednesday, half past midnight


def hour(h):
    return NIGHT.replace(hour=h, minute=0)


pytestmark = pytest.mark.django_db


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=False):
        yield NIGHT


@pytest.fixture
def memory_sms(settings):
    """SMS kept whole in ``sms_outbox``; huey runs the delivery task in this process."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"
    settings.NOTIFY_RETRY_DELAY = 0
    sms_outbox.clear()
    previous, HUEY.immediate = HUEY.immediate, True
    yield sms_outbox
    HUEY.immediate = previous
    sms_outbox.clear()


def put_on_roster(assoc, user, unit, skills, *, start=dt.time(7), end=dt.time(22), contact="13800138000"):
    return services.do_register_responder(
        actor=assoc.secretariat, user=user, unit=unit, trained_on=dt.date(2025, 4, 1), skills=list(skills),
        available_from=start, available_to=end, contact=contact, available_weekdays="1234567",
    )  # fmt: skip


@pytest.fixture
def night_roster(night, db):
    """The association at 00:30: a crisis roster whose periods all begin in the morning."""
    assoc = Association()
    early = make_user("ce", assoc.crisis, "member", full_name="早班会员小吴")
    roster = {
        "chen": put_on_roster(assoc, assoc.crisis_member, assoc.crisis, ("crisis_intervention", "hotline")),
        "wu": put_on_roster(assoc, early, assoc.crisis, ("grief",), start=dt.time(6), contact="13900139000"),
        "xu": put_on_roster(assoc, assoc.counsellor_x, assoc.youth, ("children", "hotline"), start=dt.time(8)),
    }
    # 小许 holds the hotline from 05:00, before anyone's own period begins: the nearest of all.
    services.do_add_shift(
        actor=assoc.secretariat, unit=assoc.root, responder=roster["xu"], starts_at=hour(5),
        ends_at=hour(9),
    )  # fmt: skip
    event = services.do_register_event(
        actor=assoc.secretariat, unit=assoc.root, title="某小区深夜火灾", kind="accident", place="示范市幸福小区",
        occurred_at=NIGHT - dt.timedelta(minutes=20), scale=80, severity="larger",
    )  # fmt: skip
    return assoc, roster, event


WINDOW = (NIGHT + dt.timedelta(minutes=15), hour(4))


def names(rows):
    return [r.user.full_name for r in rows]


def nothing_written():
    assert not Dispatch.objects.exists()
    assert not AuditEntry.objects.filter(object_type__endswith="dispatch").exists()
    assert not Notification.objects.filter(template="crisis_dispatch").exists()


def test_empty_night_roster_lists_the_nearest_qualified_people(night_roster):
    """H-SVC-3: at 00:30 nobody is in period; the nearest people are listed, soonest first, with when."""
    assoc, roster, event = night_roster
    assert list(selectors.mobilisation_candidates(assoc.secretariat, event, *WINDOW)) == []
    nearest = selectors.nearest_responders(assoc.secretariat, event, *WINDOW)
    # 小许's hotline shift at 05:00 comes before 小吴's 06:00 period, before 小陈's 07:00 period.
    assert names(nearest) == ["心理师小许", "早班会员小吴", "危机会员小陈"]
    assert nearest[0].next_shift == hour(5)
    assert nearest[1].next_available == hour(6)
    crisis_only = selectors.nearest_responders(assoc.secretariat, event, *WINDOW, committee=assoc.crisis)
    assert names(crisis_only) == ["早班会员小吴", "危机会员小陈"]
    assert names(selectors.nearest_responders(assoc.secretariat, event, *WINDOW, skill="crisis_intervention")) == [
        "危机会员小陈"
    ]
    assert selectors.nearest_responders(assoc.other_secretariat, event, *WINDOW) == []


def test_out_of_hours_dispatch_needs_a_reason_which_is_stored_and_audited(night_roster):
    """H-SVC-3: sending someone outside their own period is refused on the reason field without a reason
    (nothing written), and allowed with one: stored on the dispatch and in the audit entry."""
    assoc, roster, event = night_roster
    with pytest.raises(ValidationError) as refused:
        services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=WINDOW[0],
            ends_at=WINDOW[1],
        )  # fmt: skip
    assert "越时段调派原因" in refused.value.message_dict["reason"][0]
    nothing_written()
    [dispatch] = services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=WINDOW[0],
        ends_at=WINDOW[1], reason="深夜火灾，值班名册无人，电话确认本人可到场",
    )  # fmt: skip
    assert dispatch.reason == "深夜火灾，值班名册无人，电话确认本人可到场"
    entry = AuditEntry.objects.get(object_type__endswith="dispatch", object_id=str(dispatch.pk))
    assert "深夜火灾" in entry.purpose


def test_unqualified_people_are_refused_on_the_responders_field(night_roster):
    """H-SVC-3: a reason does not make anyone qualified: without a skill the task needs (or the skill asked
    for), the dispatch is refused on the responders field and nothing is written."""
    assoc, roster, event = night_roster
    reason = "名册无人，紧急"
    cases = [
        ({"responders": [roster["wu"]], "role": "leader"}, "现场负责人"),  # 小吴 has grief only
        ({"responders": [roster["chen"], roster["wu"]], "role": "hotline"}, "热线接听"),
        ({"responders": [roster["wu"]], "role": "counsellor", "skill": "children"}, "儿童青少年"),
    ]
    for kwargs, needed in cases:
        with pytest.raises(ValidationError) as refused:
            services.do_dispatch(
                actor=assoc.secretariat, event=event, starts_at=WINDOW[0], ends_at=WINDOW[1], reason=reason, **kwargs
            )
        assert needed in refused.value.message_dict["responders"][0]
        nothing_written()
    services.do_dispatch(
        actor=assoc.secretariat, event=event, responders=[roster["wu"]], role="counsellor", starts_at=WINDOW[0],
        ends_at=WINDOW[1], reason=reason,
    )  # fmt: skip
    assert Dispatch.objects.get().responder == roster["wu"]


def test_urgent_dispatch_sends_sms_through_the_backend_as_well_as_the_inbox(
    night_roster, memory_sms, django_capture_on_commit_callbacks
):
    """H-SVC-3: an urgent dispatch sends an SMS to the roster's number through the configured SMS backend
    and writes the inbox row; a non-urgent one only the inbox. The SMS names neither event nor place."""
    assoc, roster, event = night_roster
    with django_capture_on_commit_callbacks(execute=True):
        [urgent] = services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["wu"]], role="counsellor",
            starts_at=WINDOW[0], ends_at=WINDOW[1], reason="名册无人",
        )  # fmt: skip
    assert len(memory_sms) == 1 and "13900139000" in memory_sms[0].phone
    text = memory_sms[0].text
    assert "00:45" in text and "心理援助员" in text and "幸福小区" not in text and "火灾" not in text
    urgent.refresh_from_db()
    assert urgent.notification.recipient == roster["wu"].user
    assert Delivery.objects.get(notification=urgent.sms_notification, channel="sms").status == "sent"
    later = (hour(9), hour(12))  # inside everyone's period: no reason needed
    with django_capture_on_commit_callbacks(execute=True):
        [calm] = services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[roster["chen"]], role="leader", starts_at=later[0],
            ends_at=later[1], urgent=False,
        )  # fmt: skip
    assert len(memory_sms) == 1 and calm.sms_notification is None and calm.notification is not None


def test_the_pages_say_only_what_really_went_out(
    night_roster, memory_sms, django_capture_on_commit_callbacks, monkeypatch
):
    """H-SVC-3: the flash message and the event page show per person and channel the real delivery state —
    never "已通知本人" for an SMS that failed or was not sent."""
    assoc, roster, event = night_roster
    http = browser(assoc.secretariat)
    fmt = "%Y-%m-%dT%H:%M"
    params = {"starts_at": WINDOW[0].strftime(fmt), "ends_at": WINDOW[1].strftime(fmt), "committee": "", "skill": ""}
    page = http.get(f"/assistance/events/{event.pk}/mobilise/", params).content.decode()
    assert "名册上没有人在本人的可调派时段内" in page and "心理师小许" in page and "越时段" in page
    response = http.post(
        f"/assistance/events/{event.pk}/mobilise/", {**params, "role": "leader", "responders": [roster["chen"].pk]}
    )
    assert response.status_code == 200 and "越时段调派原因" in response.content.decode()
    nothing_written()

    def broken(self, message):
        raise SmsError("短信网关拒绝：号码停机", retryable=False)

    monkeypatch.setattr("apps.notifications.backends.MemorySmsBackend.send", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            f"/assistance/events/{event.pk}/mobilise/",
            {**params, "role": "leader", "responders": [roster["chen"].pk], "reason": "名册无人", "urgent": "on"},
        )
    assert response.status_code == 302
    page = http.get(response.url).content.decode()
    assert "已通知本人" not in page
    assert "站内信：已送达 1 人" in page and "短信：待发送 1 人" in page  # the flash: SMS queued at redirect time
    assert "发送失败" in page and "号码停机" in page  # the table: what the delivery record says now
    assert "越时段：名册无人" in page
