"""X-3: remote inquiries (all and overdue), my home visits due and referrals export like their pages."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.clients.services import do_register_client
from apps.exports.registry import get_dataset
from apps.exports.testing import export_through_http, fresh_client
from apps.outreach import services
from conftest import make_user

PHONE = "13800138000"
QUESTION = "孩子最近不愿上学怎么办"


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


def inquiry(actor, unit, received, **extra):
    return services.do_record_inquiry(
        actor=actor, unit=unit, channel="phone", received_at=received, question=QUESTION, **extra
    )


@pytest.fixture
def c3_user(tree):
    return make_user("counsellor_c3", tree.c3, "counsellor", full_name="咨询师丙")


@pytest.fixture
def inquiries(tree, counsellor_a, counsellor_b, c3_user):
    """C1: an overdue one (named caller) and an answered one; C2: an open one; C3 (street S2): overdue."""
    month_ago = timezone.now() - dt.timedelta(days=30)
    return {
        "overdue": inquiry(counsellor_a, tree.c1, month_ago, contact_name="林小雨", contact_phone=PHONE),
        "answered": inquiry(counsellor_a, tree.c1, month_ago, answer="已当场解答"),
        "open": inquiry(counsellor_b, tree.c2, timezone.now()),
        "far": inquiry(c3_user, tree.c3, month_ago, contact_name="郑三"),
    }


def ids(dataset, user, filters=None):
    return [row[0] for row in get_dataset(dataset).rows(user, filters or {})]


def test_inquiry_export_is_scoped_masked_and_filtered(inquiries, street_manager):
    """X-3, S-FLOW-4, S-ORG-2: the sibling street's inquiry is absent; the caller's name is masked as on the
    list, the phone and question never appear; ``state`` narrows as on the list (junk shows all)."""
    dataset = get_dataset("remote_inquiries")
    rows = list(dataset.rows(street_manager, {}))
    expected = [inquiries[k].pk for k in ("open", "answered", "overdue")]
    assert [r[0] for r in rows] == expected and inquiries["far"].pk not in {r[0] for r in rows}
    overdue = rows[2]
    assert overdue[1] == "电话" and overdue[3] == "林**" and overdue[4] == inquiries["overdue"].reply_due
    assert [r[5] for r in rows] == ["待回复", "已回复", "逾期"]
    assert all(len(row) == len(dataset.columns) for row in rows)
    text = repr(rows)
    for canary in ("林小雨", PHONE, "上学", "当场解答"):
        assert canary not in text
    assert ids("remote_inquiries", street_manager, {"state": "overdue"}) == [inquiries["overdue"].pk]
    assert ids("remote_inquiries", street_manager, {"state": "open"}) == [inquiries["open"].pk, inquiries["overdue"].pk]
    assert ids("remote_inquiries", street_manager, {"state": " answered "}) == [inquiries["answered"].pk]
    assert ids("remote_inquiries", street_manager, {"state": "<junk>"}) == expected


def test_overdue_export_follows_the_overdue_page(inquiries, street_manager, counsellor_b):
    """X-3, S-FLOW-4: unanswered past the deadline, in scope only, with the days overdue."""
    dataset = get_dataset("remote_inquiries_overdue")
    rows = list(dataset.rows(street_manager, {"state": "open"}))
    assert [r[0] for r in rows] == [inquiries["overdue"].pk]
    assert rows[0][5] == (services.today() - inquiries["overdue"].reply_due).days > 0
    assert rows[0][3] == "林**" and len(rows[0]) == len(dataset.columns)
    assert list(dataset.rows(counsellor_b, {})) == []


def test_visit_export_follows_my_visits(tree, street_manager, counsellor_a, c3_user):
    """X-3, S-FLOW-6: the requester's visits due within a week or overdue; other streets' visits absent."""
    today = services.today()
    c1 = do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰", "phone": PHONE})
    s2 = do_register_client(actor=None, unit=tree.c3, data={"name": "王五福"})

    def plan(client, actor, days, staff=(), **extra):
        return services.do_plan_visit(
            actor=actor, client=client, kind=extra.pop("kind", "ad_hoc"), planned_for=today + dt.timedelta(days=days),
            staff=staff, preparation_notes="带上慰问品", **extra,
        )  # fmt: skip

    overdue = plan(c1, counsellor_a, -3, staff=[street_manager, counsellor_a])
    soon = plan(c1, counsellor_a, 2, staff=[street_manager, counsellor_a], kind="planned", interval_days=30)
    plan(c1, counsellor_a, 20, staff=[street_manager, counsellor_a])  # not due yet
    plan(c1, counsellor_a, 1)  # nobody named, in C1: counsellor_a's, not the street manager's
    plan(s2, c3_user, -1, staff=[c3_user])  # sibling street
    dataset = get_dataset("home_visits_due")
    rows = list(dataset.rows(street_manager, {"who": "all"}))
    assert [r[0] for r in rows] == [overdue.pk, soon.pk]
    assert rows[0] == (overdue.pk, today - dt.timedelta(days=3), "临时上门", c1.pk, "一社区室", "已逾期")
    assert rows[1][2:] == ("计划（定期）上门（每 30 天）", c1.pk, "一社区室", "待上门")
    assert all(len(row) == len(dataset.columns) for row in rows)
    assert "慰问品" not in repr(rows) and PHONE not in repr(rows)


def test_referral_export_is_scoped(tree, street_manager, counsellor_a, c3_user):
    """X-3, S-FLOW-8: the street's referrals only; the reason never appears."""
    base = {"institution": "市第七人民医院", "reason": "疑似抑郁发作", "materials": "评估量表",
            "referred_on": dt.date(2026, 11, 20), "consent_reference": "同意书 2026-031"}  # fmt: skip
    c1 = do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰"})
    s2 = do_register_client(actor=None, unit=tree.c3, data={"name": "王五福"})
    mine = services.do_refer(actor=counsellor_a, client=c1, **base)
    services.do_refer(actor=c3_user, client=s2, **base)
    dataset = get_dataset("referrals")
    rows = list(dataset.rows(street_manager, {"after": "1"}))
    assert rows == [(mine.pk, c1.pk, "市第七人民医院", dt.date(2026, 11, 20), "已转出", "一社区室")]
    assert len(rows[0]) == len(dataset.columns) and "抑郁" not in repr(rows)


def test_inquiry_export_through_the_page(inquiries, street_manager, django_capture_on_commit_callbacks):
    """X-3, S-FLOW-4: the filtered export arrives as an encrypted xlsx holding the list's rows."""
    http = fresh_client(street_manager)
    rows = export_through_http(http, django_capture_on_commit_callbacks, "remote_inquiries", "?state=overdue")
    assert rows[0] == get_dataset("remote_inquiries").columns
    assert [r[0] for r in rows[1:]] == [inquiries["overdue"].pk]
    assert rows[1][3] == "林**" and rows[1][5] == "逾期"


def test_pages_show_export_buttons_to_managers_only(inquiries, tree, street_manager, counsellor_a):
    """X-3: the manager sees the buttons on every list (carrying the filter); a counsellor (no export
    permission) sees the lists without them; a volunteer sees neither."""
    http = fresh_client(street_manager)
    assert (
        "/exports/new/xlsx/remote_inquiries/?state=open" in http.get("/outreach/inquiries/?state=open").content.decode()
    )
    for url, key in (
        ("/outreach/inquiries/overdue/", "remote_inquiries_overdue"),
        ("/outreach/visits/", "home_visits_due"),
        ("/outreach/referrals/", "referrals"),
    ):
        assert f'data-testid="export-{key}-xlsx"' in http.get(url).content.decode(), url
    page = fresh_client(counsellor_a).get("/outreach/inquiries/")
    assert page.status_code == 200 and "export-remote" not in page.content.decode()
    volunteer = fresh_client(make_user("volunteer_c1", tree.c1, "volunteer"))
    assert "export-remote" not in volunteer.get("/outreach/inquiries/").content.decode()
