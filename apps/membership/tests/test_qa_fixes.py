"""Fixes of the QA round on membership: dues arithmetic, revocation votes, positions, applications, dues page."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError

from apps.core.scoping import unscoped
from apps.membership import selectors, services
from apps.membership.choices import BodyKind, MemberStatus, PositionKind, Tier
from apps.membership.models import Application, DuesPayment, Position

from .conftest import application_data, new_member, png, resident_id, submit
from .test_members import revoke, seat, upheld_complaint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_rate_limits():
    cache.clear()


def pay(member, amount, receipt, year=2026, **extra):
    return services.do_record_payment(
        actor=None, member=member, year=year, amount=amount, paid_on=dt.date(2026, 2, 1), method="cash",
        receipt_number=receipt, **extra,
    )  # fmt: skip


# --- 1. partial dues ------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 6, 15, 10, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)  # in the dues' year
def test_partial_dues_payment_does_not_make_the_card_valid(assoc, client, secretariat):
    """H-MEM-3: a year counts as paid (card, verify page, self-service) only when its payments reach the
    tier's standard — the arrears list's arithmetic: 10 of 200 元 leaves 190 owed and no valid card."""
    member = new_member(assoc, "m1", "部分缴费会员")
    services.do_set_dues_rate(actor=None, association=assoc.root, year=2026, tier=Tier.PARTICIPANT, amount="200")
    pay(member, "10", "HF-1")
    owed = {row["member"].pk: row["owed"] for row in selectors.arrears(assoc.root, 2026)}
    assert str(owed[member.pk]) == "190.00"
    assert selectors.paid_years(member) == []
    assert selectors.card_valid_until(member) is None
    verify = client.get(f"/membership/verify/{member.card_token}/").content.decode()
    assert re.search(r'data-testid="verify-status">会费未缴 · 无效<', verify)
    client.force_login(secretariat)
    detail = client.get(f"/membership/members/{member.pk}/").content.decode()
    assert "2026-12-31" not in detail

    pay(member, "190", "HF-2", is_supplement=True, supplement_reason="补交余额")  # a second payment: 补缴
    assert member.pk not in {row["member"].pk for row in selectors.arrears(assoc.root, 2026)}
    assert selectors.card_valid_until(member) == dt.date(2026, 12, 31)
    verify = client.get(f"/membership/verify/{member.card_token}/").content.decode()
    assert re.search(r'data-testid="verify-status">有效<', verify)


def test_dues_owed_is_the_one_arithmetic(assoc):
    """H-MEM-3: ``dues_owed`` is what arrears show and what decides a paid year (no rate set: any payment)."""
    from decimal import Decimal

    assert selectors.dues_owed(Decimal("200"), Decimal("10")) == Decimal("190")
    assert selectors.dues_owed(Decimal("200"), Decimal("250")) == 0
    assert selectors.dues_owed(None, Decimal("5")) == 0
    member = new_member(assoc, "m1")
    pay(member, "50", "HF-9")  # no standard set for 2026: nothing owed
    assert selectors.card_valid_until(member) == dt.date(2026, 12, 31)


# --- 9. dues before joining -------------------------------------------------------------------------------


def test_dues_for_a_year_before_joining_are_refused(assoc):
    """H-MEM-3: the dues ledger has no year before the member joined (2025 dues for a 2026 member)."""
    member = new_member(assoc, "m1", joined=dt.date(2026, 12, 1))
    with pytest.raises(ValidationError, match="入会前") as caught:
        pay(member, "100", "HF-OLD", year=2025)
    assert caught.value.code == "before_joined"
    assert not DuesPayment.objects.exists()
    pay(member, "100", "HF-NEW", year=2026)
    assert DuesPayment.objects.count() == 1


# --- 2. revocation votes ----------------------------------------------------------------------------------


def test_revocation_votes_cannot_exceed_the_body_and_date_must_fit(assoc):
    """H-MEM-5: approve+reject+abstain ≤ the body's members on the vote date; the date is not before the
    member joined and not in the future."""
    member = new_member(assoc, "m1", joined=dt.date(2026, 1, 10))
    complaint = upheld_complaint(member)
    seat(assoc, n=5)  # five directors since 2025-01-01
    board = services.ensure_bodies(assoc.root)[BodyKind.BOARD]
    with pytest.raises(ValidationError, match="现任成员 5 人") as caught:
        revoke(member, board, complaint=complaint, votes_for=100, votes_against=0, votes_abstain=0)
    assert caught.value.code == "votes_exceed_seats"
    with pytest.raises(ValidationError, match="入会日期"):
        revoke(
            member, board, complaint=complaint, meeting_date=dt.date(2025, 12, 1),
            votes_for=4, votes_against=0, votes_abstain=0,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="晚于今天"):
        revoke(
            member, board, complaint=complaint, meeting_date=selectors.today() + dt.timedelta(days=1),
            votes_for=4, votes_against=0, votes_abstain=0,
        )  # fmt: skip
    standing = services.ensure_bodies(assoc.root)[BodyKind.STANDING_BOARD]
    with pytest.raises(ValidationError, match="常务理事会共有现任成员 0 人"):
        revoke(member, standing, complaint=complaint, votes_for=1, votes_against=0, votes_abstain=0)
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    revoke(member, board, complaint=complaint, votes_for=4, votes_against=1, votes_abstain=0)
    member.refresh_from_db()
    assert member.status == MemberStatus.REVOKED


def test_revocation_counts_the_board_on_the_vote_date(assoc):
    """H-MEM-5: seats are counted on the vote date — a director appointed later does not count."""
    member = new_member(assoc, "m1", joined=dt.date(2026, 1, 10))
    complaint = upheld_complaint(member)
    seat(assoc, n=2)
    late = new_member(assoc, "late")
    services.do_appoint(actor=None, member=late, kind=PositionKind.DIRECTOR, term_start=dt.date(2026, 6, 1))
    board = services.ensure_bodies(assoc.root)[BodyKind.BOARD]
    with pytest.raises(ValidationError, match="现任成员 2 人"):
        revoke(member, board, complaint=complaint, votes_for=3, votes_against=0, votes_abstain=0)


def test_revoke_page_shows_the_vote_error(assoc, client, secretariat):
    """H-MEM-5: the revoke page refuses 同意 100 for a small board, in Chinese, and changes nothing."""
    member = new_member(assoc, "m1")
    seat(assoc, n=3)
    board = services.ensure_bodies(assoc.root)[BodyKind.BOARD]
    client.force_login(secretariat)
    response = client.post(
        f"/membership/members/{member.pk}/revoke/",
        {
            "body": board.pk, "reason": "criminal", "meeting_date": "2026-04-01", "resolution_number": "X1",
            "votes_for": 100, "votes_against": 0, "votes_abstain": 0, "detail": "判决生效。",
        },
    )  # fmt: skip
    assert response.status_code == 200 and "不能超过 3" in response.content.decode()
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE


# --- 5. positions -----------------------------------------------------------------------------------------


def test_no_duplicate_or_second_single_holder_position(assoc):
    """H-ORG-4: the same person cannot hold the same position in the same body/unit twice for overlapping
    terms; a committee has one 主任, the association one 会长 and one 秘书长 at a time."""
    a, b = new_member(assoc, "a", "甲"), new_member(assoc, "b", "乙")
    start = dt.date(2026, 1, 1)
    services.do_appoint(actor=None, member=a, kind=PositionKind.DIRECTOR, term_start=start)
    with pytest.raises(ValidationError, match="不能重复任命"):
        services.do_appoint(actor=None, member=a, kind=PositionKind.DIRECTOR, term_start=dt.date(2026, 6, 1))
    committee = assoc.committees[0]
    services.do_appoint(
        actor=None, member=a, kind=PositionKind.COMMITTEE_CHAIR, unit=committee, term_start=start,
        term_end=dt.date(2026, 12, 31),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="只能由一人担任") as caught:
        services.do_appoint(
            actor=None, member=b, kind=PositionKind.COMMITTEE_CHAIR, unit=committee, term_start=dt.date(2026, 3, 1)
        )
    assert caught.value.code == "single_holder"
    # another committee, a vice chair, or a term after the first one ends: all fine
    services.do_appoint(
        actor=None, member=b, kind=PositionKind.COMMITTEE_CHAIR, unit=assoc.committees[1], term_start=start
    )
    services.do_appoint(actor=None, member=b, kind=PositionKind.COMMITTEE_VICE_CHAIR, unit=committee, term_start=start)
    services.do_appoint(
        actor=None, member=b, kind=PositionKind.COMMITTEE_CHAIR, unit=committee, term_start=dt.date(2027, 1, 1)
    )
    services.do_appoint(actor=None, member=a, kind=PositionKind.PRESIDENT, term_start=start)
    with pytest.raises(ValidationError, match="会长只能由一人担任"):
        services.do_appoint(actor=None, member=b, kind=PositionKind.PRESIDENT, term_start=start)
    services.do_appoint(actor=None, member=a, kind=PositionKind.SECRETARY_GENERAL, term_start=start)
    with pytest.raises(ValidationError, match="秘书长只能由一人担任"):
        services.do_appoint(actor=None, member=b, kind=PositionKind.SECRETARY_GENERAL, term_start=start)
    # two vice presidents are allowed
    services.do_appoint(actor=None, member=a, kind=PositionKind.VICE_PRESIDENT, term_start=start)
    services.do_appoint(actor=None, member=b, kind=PositionKind.VICE_PRESIDENT, term_start=start)
    assert Position.objects.filter(kind=PositionKind.COMMITTEE_CHAIR, unit=committee).count() == 2


def test_an_ended_position_frees_the_seat(assoc):
    """H-ORG-4: after the holder steps down (ended_on), a successor may be appointed from that day."""
    a, b = new_member(assoc, "a"), new_member(assoc, "b")
    committee = assoc.committees[0]
    first = services.do_appoint(
        actor=None, member=a, kind=PositionKind.COMMITTEE_CHAIR, unit=committee, term_start=dt.date(2026, 1, 1)
    )
    services.do_end_position(actor=None, position=first, ended_on=dt.date(2026, 5, 1))
    services.do_appoint(
        actor=None, member=b, kind=PositionKind.COMMITTEE_CHAIR, unit=committee, term_start=dt.date(2026, 5, 1)
    )
    with pytest.raises(ValidationError, match="不能重复任命"):
        services.do_appoint(
            actor=None, member=b, kind=PositionKind.COMMITTEE_CHAIR, unit=committee, term_start=dt.date(2026, 9, 1)
        )


# --- 4. application form ----------------------------------------------------------------------------------


def test_application_form_shows_every_field_error_at_once(client, assoc):
    """H-MEM-1: a submit with a bad e-mail, ID number and phone and no photo shows all four errors."""
    data = application_data(5, email="not-an-email", id_number="330102198503120001", phone="12345")
    body = client.post(f"/membership/apply/{assoc.root.pk}/", data).content.decode()
    assert "合法的邮件地址" in body
    assert "校验位不正确" in body
    assert "手机号码无效" in body
    assert "必填" in body  # the photo
    with unscoped("test"):
        assert not Application.objects.exists()


def test_failed_submits_do_not_use_up_the_hourly_limit(client, assoc):
    """H-MEM-1: only accepted applications count against 5 an hour; fixing typos is not locked out."""
    bad = application_data(6, phone="12345")
    for _ in range(8):
        body = client.post(f"/membership/apply/{assoc.root.pk}/", {**bad, "photo": png()}).content.decode()
        assert "提交过于频繁" not in body
    good = application_data(6)
    body = client.post(f"/membership/apply/{assoc.root.pk}/", {**good, "photo": png()}).content.decode()
    assert "申请已提交" in body


def test_accepted_submissions_are_still_limited(client, assoc):
    """H-MEM-1: spam protection stays — the sixth accepted application in an hour is refused."""
    for seq in range(5):
        body = client.post(
            f"/membership/apply/{assoc.root.pk}/", {**application_data(40 + seq), "photo": png()}
        ).content.decode()
        assert "申请已提交" in body
    body = client.post(f"/membership/apply/{assoc.root.pk}/", {**application_data(46), "photo": png()}).content.decode()
    assert "提交过于频繁" in body


# --- 8. revoked member applies again ---------------------------------------------------------------------


def test_revoked_member_applying_again_is_told_of_the_revocation(assoc):
    """H-MEM-5, H-MEM-1: a revoked member is not told they are a member; they learn the revocation date and
    that re-admission goes through the secretariat."""
    id_number = resident_id(77)
    application, _ = submit(assoc, 77)
    member = new_member(assoc, "old")
    member.id_number = id_number
    member.save()
    with unscoped("test"):
        Application.objects.filter(pk=application.pk).update(status="admitted")
    seat(assoc, n=3)
    revoke(
        member, services.ensure_bodies(assoc.root)[BodyKind.BOARD], reason="criminal",
        meeting_date=dt.date(2026, 4, 1), votes_for=3, votes_against=0, votes_abstain=0,
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        submit(assoc, 77)
    message = caught.value.messages[0]
    assert caught.value.code == "revoked_member"
    assert "2026-04-01" in message and "撤销" in message and "秘书处" in message
    assert "已是本协会会员" not in message


# --- 10c. dues page ids ----------------------------------------------------------------------------------


def test_dues_page_has_no_duplicate_ids(client, assoc, secretariat):
    """H-MEM-3: the payment and rate forms on /membership/dues/ carry prefixes; every HTML id is unique."""
    new_member(assoc, "m1")
    client.force_login(secretariat)
    body = client.get("/membership/dues/?year=2026").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', body)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    assert 'id="id_pay-year"' in body and 'id="id_rate-year"' in body
