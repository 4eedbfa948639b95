"""X-3 (every list exports to Excel) for the association's services (H-SVC-1 … H-SVC-4)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.assistance import services
from apps.assistance.models import HelpRequest
from apps.core.scoping import unscoped
from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_rows, export_through_http, fresh_client


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


def help_request(actor, unit, name, specialty):
    return services.do_register_help_request(
        actor=actor, unit=unit, channel="hotline", received_at=timezone.now() - dt.timedelta(hours=1),
        seeker_name=name, seeker_phone="13912345678", topic="求助问题不导出", specialty=specialty, urgency="urgent",
    )  # fmt: skip


def responder(actor, user, unit, skills):
    return services.do_register_responder(
        actor=actor, user=user, unit=unit, trained_on=dt.date(2025, 4, 1), skills=list(skills),
        available_from=dt.time(0, 0), available_to=dt.time(23, 59), contact="13800138000",
    )  # fmt: skip


@pytest.fixture
def world(assoc):
    """Help requests routed to the youth (王) and crisis (李) committees, one in the other association (赵);
    hours, responders, an event with a dispatch, and a hotline shift — on both sides of the association line."""
    sec, other_sec = assoc.secretariat, assoc.other_secretariat
    services.do_save_settings(
        actor=sec, unit=assoc.root, assign_working_days=2, education_minimum=24,
        routes={"youth": assoc.youth, "crisis": assoc.crisis},
    )  # fmt: skip
    help_request(sec, assoc.root, "王小明", "youth")
    help_request(sec, assoc.root, "李大红", "crisis")
    help_request(other_sec, assoc.other, "赵外市", "youth")
    today = services.today()
    services.do_record_hours(
        actor=sec, member=assoc.counsellor_x, kind="training", activity="危机干预培训", date=today, hours="3"
    )
    services.do_record_hours(
        actor=sec, member=assoc.crisis_member, kind="volunteer", activity="社区义诊", date=today, hours="5"
    )
    services.do_record_hours(
        actor=other_sec, member=assoc.other_member, kind="volunteer", activity="邻市活动", date=today, hours="9"
    )
    chen = responder(sec, assoc.crisis_member, assoc.crisis, ("crisis_intervention", "hotline"))
    responder(other_sec, assoc.other_member, assoc.other_committee, ("hotline",))
    event = services.do_register_event(
        actor=sec, unit=assoc.root, title="某中学学生意外事件", kind="school_suicide", place="示范市第一中学",
        occurred_at=timezone.now() - dt.timedelta(hours=3), scale=300, severity="larger",
    )  # fmt: skip
    other_event = services.do_register_event(
        actor=other_sec, unit=assoc.other, title="邻市事件", kind="accident", place="邻市",
        occurred_at=timezone.now() - dt.timedelta(hours=3), scale=10, severity="general",
    )  # fmt: skip
    start = (timezone.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    services.do_dispatch(
        actor=sec, event=event, responders=[chen], role="leader", starts_at=start, ends_at=start + dt.timedelta(hours=2)
    )
    shift_start = start + dt.timedelta(days=2)
    services.do_add_shift(
        actor=sec, unit=assoc.root, responder=chen, starts_at=shift_start, ends_at=shift_start + dt.timedelta(hours=4)
    )
    return {"event": event, "other_event": other_event, "shift_day": timezone.localtime(shift_start).date()}


def column(key, user, name, **filters):
    index = get_dataset(key).columns.index(name)
    return [row[index] for row in export_rows(key, user, **filters)]


def test_help_request_export_scoped_masked_and_filtered_like_the_list(assoc, world):
    """X-3, H-SVC-1: help requests of the user's subtree (a committee head sees only the own committee's),
    seekers masked, the topic and phone never exported, ``status`` narrowing as on the list."""
    sec, head = assoc.secretariat, assoc.head_youth
    http = fresh_client(sec)
    for filters in ({}, {"status": "routed"}, {"status": "closed"}, {"status": "overdue"}, {"status": "junk"}):
        exported = set(column("assistance_help_requests", sec, "求助者", **filters))
        page = http.get("/assistance/help/", filters).content.decode()
        for masked in ("王**", "李**", "赵**"):
            assert (masked in exported) == (masked in page), (filters, masked)
    assert set(column("assistance_help_requests", sec, "求助者")) == {"王**", "李**"}
    assert column("assistance_help_requests", head, "求助者") == ["王**"]  # the crisis committee is a sibling
    assert column("assistance_help_requests", head, "专业委员会") == ["青少年专委会"]
    rows = export_rows("assistance_help_requests", sec)
    assert not any(text in str(cell) for row in rows for cell in row for text in ("求助问题", "13912345678", "王小明"))
    assert export_rows("assistance_help_overdue", sec) == []
    with unscoped("test: move a deadline into the past"):
        HelpRequest.objects.filter(committee=assoc.youth).update(assign_due=services.today() - dt.timedelta(days=3))
    overdue = export_rows("assistance_help_overdue", sec)
    assert [(r[2], r[5], r[7]) for r in overdue] == [("王**", "青少年专委会", 3)]
    assert column("assistance_help_requests", sec, "状态", status="overdue") == ["待分派 · 逾期"]


def test_hours_totals_and_ranking_exports(assoc, world):
    """X-3, H-SVC-2, H-SVC-4: hours records, yearly totals and the volunteer ranking of the association only."""
    sec = assoc.secretariat
    assert set(column("assistance_hours", sec, "会员")) == {"心理师小许", "危机会员小陈"}
    assert column("assistance_hours", sec, "会员", kind="volunteer") == ["危机会员小陈"]
    assert export_rows("assistance_hours", sec, status="pending") == []
    assert column("assistance_hours", sec, "时长（小时）", kind="training") == [3.0]
    totals = {r[1]: r for r in export_rows("assistance_hours_totals", sec)}
    assert "邻市会员" not in totals and totals["心理师小许"][2:6] == (3.0, 0.0, 3.0, "否")
    assert set(column("assistance_hours_totals", sec, "会员", below="1")) == set(totals)  # minimum 24: all below
    assert export_rows("assistance_hours_totals", sec, year="1999")[0][0] == services.today().year  # junk year
    ranking = export_rows("assistance_volunteer_ranking", sec)
    assert [r[1:] for r in ranking] == [(1, "危机会员小陈", 5.0)]
    assert export_rows("assistance_volunteer_ranking", sec, year=str(services.today().year - 1)) == []


def test_crisis_roster_event_dispatch_and_rota_exports(assoc, world):
    """X-3, H-SVC-3: roster, events, one event's dispatches and the week's rota, of the association only."""
    sec, head = assoc.secretariat, assoc.head_youth
    assert column("assistance_responders", sec, "姓名") == ["危机会员小陈"]
    assert column("assistance_responders", sec, "技能") == ["危机干预、热线接听"]
    assert export_rows("assistance_responders", head) == []  # the responder belongs to the crisis committee
    assert column("assistance_events", sec, "事件名称") == ["某中学学生意外事件"]
    dispatches = export_rows("assistance_event_dispatches", sec, event=str(world["event"].pk))
    assert [(r[1], r[3], r[6]) for r in dispatches] == [("危机会员小陈", "现场负责人", "已调派")]
    assert export_rows("assistance_event_dispatches", sec, event=str(world["other_event"].pk)) == []
    assert export_rows("assistance_event_dispatches", sec, event="x") == []
    week = world["shift_day"].isoformat()
    assert column("assistance_rota", sec, "值班人员", week=week) == ["危机会员小陈"]
    assert export_rows("assistance_rota", assoc.other_secretariat, week=week) == []
    next_week = (world["shift_day"] + dt.timedelta(days=7)).isoformat()
    assert export_rows("assistance_rota", sec, week=next_week) == []


def test_lists_show_export_buttons_to_the_secretariat_only(assoc, world):
    """X-3, H-SVC-1: the secretariat sees the buttons with the filters; a committee head (no export right) does not."""
    page = fresh_client(assoc.secretariat).get("/assistance/help/?status=routed").content.decode()
    assert "/exports/new/xlsx/assistance_help_requests/?status=routed" in page
    assert "export-assistance" not in fresh_client(assoc.head_youth).get("/assistance/help/").content.decode()
    event_page = fresh_client(assoc.secretariat).get(f"/assistance/events/{world['event'].pk}/").content.decode()
    assert f"/exports/new/xlsx/assistance_event_dispatches/?event={world['event'].pk}" in event_page
    for url, key in (
        ("/assistance/help/overdue/", "assistance_help_overdue"),
        ("/assistance/hours/", "assistance_hours"),
        ("/assistance/hours/totals/", "assistance_hours_totals"),
        ("/assistance/hours/volunteer-ranking/", "assistance_volunteer_ranking"),
        ("/assistance/responders/", "assistance_responders"),
        ("/assistance/events/", "assistance_events"),
        ("/assistance/rota/", "assistance_rota"),
    ):
        assert f'data-testid="export-{key}-xlsx"' in fresh_client(assoc.secretariat).get(url).content.decode(), url


def test_help_request_export_end_to_end(assoc, world, django_capture_on_commit_callbacks):
    """X-3, H-SVC-1: the help-request list arrives as an encrypted xlsx with masked seekers."""
    rows = export_through_http(
        fresh_client(assoc.secretariat),
        django_capture_on_commit_callbacks,
        "assistance_help_requests",
        reason="季度求助分派统计",
    )
    assert ExportJob.objects.get().row_count == 2
    assert rows[0] == get_dataset("assistance_help_requests").columns
    assert sorted(row[2] for row in rows[1:]) == sorted(["王**", "李**"])


def count_queries(key, user, **filters) -> int:
    list(get_dataset(key).rows(user, filters))  # warm the grant cache
    with CaptureQueriesContext(connection) as queries:
        list(get_dataset(key).rows(user, filters))
    return len(queries)


def test_roster_and_dispatch_exports_need_no_query_per_row(assoc, world):
    """X-3, H-SVC-3: skills and services are prefetched, not read per responder or per dispatch."""
    sec, event = assoc.secretariat, world["event"]
    before = (
        count_queries("assistance_responders", sec),
        count_queries("assistance_event_dispatches", sec, event=str(event.pk)),
    )
    more = [
        responder(sec, user, assoc.youth, ("children", "grief")) for user in (assoc.counsellor_x, assoc.counsellor_y)
    ]
    start = (timezone.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    services.do_dispatch(
        actor=sec,
        event=event,
        responders=more,
        role="counsellor",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    assert len(export_rows("assistance_responders", sec)) == 3
    assert len(export_rows("assistance_event_dispatches", sec, event=str(event.pk))) == 3
    after = (
        count_queries("assistance_responders", sec),
        count_queries("assistance_event_dispatches", sec, event=str(event.pk)),
    )
    assert after == before
