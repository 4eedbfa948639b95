"""X-3 (every list exports to Excel) for the membership lists (H-MEM-1, H-MEM-3, H-MEM-4, H-ORG-4, H-SVC-5)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_rows, export_through_http, fresh_client
from apps.membership import selectors, services
from apps.membership.choices import PositionKind, Tier
from conftest import make_user

from .conftest import new_member, submit

pytestmark = pytest.mark.django_db
YEAR = 2026


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


@pytest.fixture
def world(assoc, other_assoc):
    """会员甲 (committee 0, participant), 会员乙 (director: builder) in the association; 外会员 in another."""
    first = new_member(assoc, "m_first", "会员甲", joined=dt.date(2025, 3, 1))
    second = new_member(assoc, "m_second", "会员乙", joined=dt.date(2025, 3, 1))
    stranger = new_member(other_assoc, "m_stranger", "外会员", joined=dt.date(2025, 3, 1))
    services.do_join_committee(actor=None, member=first, committee=assoc.committees[0])
    services.do_appoint(actor=None, member=second, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    ended = services.do_appoint(actor=None, member=first, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    services.do_end_position(actor=None, position=ended, ended_on=dt.date(2025, 6, 30))
    services.do_appoint(actor=None, member=stranger, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    soon = selectors.today() + dt.timedelta(days=10)
    for member, number in ((first, "C-1"), (stranger, "C-9")):
        services.do_add_certificate(
            actor=None,
            member=member,
            data={"kind": "counsellor", "number": number, "issuer": "人社部", "expires_on": soon},
        )
    for association in (assoc, other_assoc):
        for tier, amount in ((Tier.PARTICIPANT, "100"), (Tier.BUILDER, "300")):
            services.do_set_dues_rate(actor=None, association=association.root, year=YEAR, tier=tier, amount=amount)
    services.do_record_payment(
        actor=None, member=second, year=YEAR, amount="120.50", paid_on=dt.date(YEAR, 2, 1), method="wechat",
        receipt_number="HF-001",
    )  # fmt: skip
    services.do_record_payment(
        actor=None, member=stranger, year=YEAR, amount="100", paid_on=dt.date(YEAR, 2, 1), method="cash",
        receipt_number="WF-001",
    )  # fmt: skip
    for member in (first, stranger):
        services.do_register_complaint(
            actor=None, member=member, complainant="来访者家属", contact="13900001111", principle="respect",
            description="投诉内容不导出", received_on=dt.date(YEAR, 3, 1),
        )  # fmt: skip
    submit(assoc, 1, name="申请人本会")
    submit(other_assoc, 2, name="申请人外会")
    return first, second, stranger


def column(key, user, name, **filters):
    index = get_dataset(key).columns.index(name)
    return [row[index] for row in export_rows(key, user, **filters)]


def test_member_export_scoped_and_filtered_like_the_list(assoc, secretariat, world):
    """X-3, H-MEM-4: members of the requester's association only, with the list's q/tier/committee/status filters."""
    http = fresh_client(secretariat)
    committee = str(assoc.committees[0].pk)
    for filters in (
        {},
        {"q": "甲"},
        {"tier": Tier.BUILDER},
        {"committee": committee},
        {"status": "revoked"},
        {"tier": "junk", "committee": "x"},
    ):
        exported = set(column("membership_members", secretariat, "姓名", **filters))
        page = http.get("/membership/members/", filters).content.decode()
        for name in ("会员甲", "会员乙", "外会员"):
            assert (name in exported) == (name in page), (filters, name)
    assert set(column("membership_members", secretariat, "姓名")) == {"会员甲", "会员乙"}
    assert column("membership_members", secretariat, "会员类别", tier=Tier.BUILDER) == [Tier.BUILDER.label]
    row = export_rows("membership_members", secretariat, committee=committee)[0]
    assert row[1] == "会员甲" and row[4] == assoc.committees[0].name and row[5] == "2025-03-01" and row[6] == "有效"


def test_application_export_scoped_and_filtered(secretariat, world):
    """X-3, H-MEM-1: applications of the association only; ``status`` narrows as on the list."""
    assert column("membership_applications", secretariat, "姓名") == ["申请人本会"]
    assert column("membership_applications", secretariat, "状态") == ["待初审"]
    assert export_rows("membership_applications", secretariat, status="admitted") == []
    assert column("membership_applications", secretariat, "姓名", status="nonsense") == ["申请人本会"]


def test_certificate_ledger_arrears_exports(other_assoc, secretariat, world):
    """X-3, H-MEM-3: expiring certificates, the dues ledger of a year and the arrears, all of one association."""
    assert column("membership_certificates_expiring", secretariat, "姓名") == ["会员甲"]
    ledger = export_rows("membership_dues_ledger", secretariat, year=str(YEAR))
    assert [(r[0], r[2], r[4], r[5]) for r in ledger] == [("HF-001", "会员乙", 120.5, f"{YEAR}-02-01")]
    assert export_rows("membership_dues_ledger", secretariat, year=str(YEAR - 1)) == []
    assert len(export_rows("membership_dues_ledger", secretariat, year="junk")) == (
        1 if selectors.today().year == YEAR else 0
    )
    arrears = {r[1]: r for r in export_rows("membership_dues_arrears", secretariat, year=str(YEAR))}
    assert set(arrears) == {"会员甲", "会员乙"}
    assert arrears["会员乙"][4:] == (300.0, 120.5, 179.5) and arrears["会员甲"][2] == Tier.PARTICIPANT.label
    # another association's id is not one the secretariat holds: the page (and export) fall back to its own
    other = export_rows("membership_dues_arrears", secretariat, year=str(YEAR), association=str(other_assoc.root.pk))
    assert {r[1] for r in other} == {"会员甲", "会员乙"}


def test_position_and_complaint_exports(secretariat, world):
    """X-3, H-ORG-4, H-SVC-5: current positions (all with ``all=1``) and complaints of the association only."""
    assert column("membership_positions", secretariat, "姓名") == ["会员乙"]
    assert sorted(column("membership_positions", secretariat, "姓名", all="1")) == ["会员乙", "会员甲"]
    ended = [r for r in export_rows("membership_positions", secretariat, all="1") if r[3] == "会员甲"][0]
    assert ended[0] == "理事" and ended[6] == "2025-06-30" and ended[7] == "无需备案"
    rows = export_rows("membership_complaints", secretariat)
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [(f"{YEAR}-03-01", "会员甲", "尊重", "已登记待处理")]
    assert not any("投诉内容不导出" in str(cell) or "来访者家属" in str(cell) for r in rows for cell in r)


def test_member_list_shows_export_buttons_to_those_who_keep_the_roll(assoc, secretariat, officer, board, world):
    """X-3, H-MEM-4: the secretariat and the membership officer see the buttons with the filters; a director
    (board_member, no export permission) does not."""
    page = fresh_client(secretariat).get("/membership/members/?q=甲&after=4").content.decode()
    assert 'data-testid="export-membership_members-xlsx"' in page
    assert "/exports/new/xlsx/membership_members/?q=%E7%94%B2" in page
    assert (
        'data-testid="export-membership_members-xlsx"'
        in fresh_client(officer).get("/membership/members/").content.decode()
    )
    director = fresh_client(board[0]).get("/membership/members/")
    assert director.status_code in (200, 403, 404) and "export-membership" not in director.content.decode()
    for url, key in (
        ("/membership/applications/", "membership_applications"),
        ("/membership/certificates/expiring/", "membership_certificates_expiring"),
        (f"/membership/dues/?year={YEAR}", "membership_dues_ledger"),
        (f"/membership/dues/arrears/?year={YEAR}", "membership_dues_arrears"),
        ("/membership/positions/", "membership_positions"),
        ("/membership/complaints/", "membership_complaints"),
    ):
        assert f'data-testid="export-{key}-xlsx"' in fresh_client(secretariat).get(url).content.decode(), url


def test_member_export_end_to_end(secretariat, world, django_capture_on_commit_callbacks):
    """X-3, H-MEM-4: the member roll arrives as an encrypted xlsx of the association's members."""
    rows = export_through_http(
        fresh_client(secretariat),
        django_capture_on_commit_callbacks,
        "membership_members",
        "?status=active",
        reason="年度会员名册报送",
    )
    assert ExportJob.objects.get().row_count == 2
    assert rows[0] == get_dataset("membership_members").columns
    assert sorted(row[1] for row in rows[1:]) == ["会员乙", "会员甲"]


def test_member_export_of_a_user_without_association_is_empty(tree, world):
    """X-3, H-MEM-3: a district grant outside any association sees no member, ledger or arrears row."""
    admin = make_user("district_admin_x", tree.district, "district_admin")
    assert export_rows("membership_members", admin) == []
    assert export_rows("membership_dues_arrears", admin) == []


def count_queries(key, user, **filters) -> int:
    list(get_dataset(key).rows(user, filters))  # warm the grant cache
    with CaptureQueriesContext(connection) as queries:
        list(get_dataset(key).rows(user, filters))
    return len(queries)


def test_member_export_needs_no_query_per_row(assoc, secretariat, world):
    """X-3, H-MEM-4: tiers and committees are read per chunk, not per member (exports may be large)."""
    before = count_queries("membership_members", secretariat)
    for i in range(6):
        member = new_member(assoc, f"m_more{i}", f"新会员{i}")
        services.do_join_committee(actor=None, member=member, committee=assoc.committees[1])
    assert len(export_rows("membership_members", secretariat)) == 8
    assert count_queries("membership_members", secretariat) == before
