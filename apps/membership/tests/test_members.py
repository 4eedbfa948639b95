"""Members: committees, tiers, dues, positions, conduct and revocation (H-MEM-3..6, H-ORG-1, H-ORG-4, H-SVC-5)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Assignment
from apps.membership import selectors, services
from apps.membership.choices import BodyKind, MemberStatus, PositionKind, Tier
from apps.membership.models import CommitteeMembership, DuesPayment, Position, Revocation

from .conftest import new_member

pytestmark = pytest.mark.django_db


def test_two_committee_limit_in_service_and_database(assoc):
    """H-ORG-3: a third committee is refused by the service and by the database; leaving frees a slot."""
    member = new_member(assoc, "m1")
    first = services.do_join_committee(actor=None, member=member, committee=assoc.committees[0])
    services.do_join_committee(actor=None, member=member, committee=assoc.committees[1])
    with pytest.raises(ValidationError, match="最多参加两个"):
        services.do_join_committee(actor=None, member=member, committee=assoc.committees[2])
    with pytest.raises(IntegrityError), transaction.atomic():
        CommitteeMembership.objects.create(
            member=member, committee=assoc.committees[2], association=assoc.root, unit_path=assoc.root.path,
            slot=1, joined_on=dt.date(2026, 1, 1),
        )  # fmt: skip
    assert Assignment.objects.filter(user=member.user, unit=assoc.committees[0], role__code="member").exists()
    services.do_leave_committee(actor=None, membership=first)
    assert not Assignment.objects.filter(user=member.user, unit=assoc.committees[0], role__code="member").exists()
    services.do_join_committee(actor=None, member=member, committee=assoc.committees[2])
    assert CommitteeMembership.objects.filter(member=member, left_on__isnull=True).count() == 2


def test_committee_of_another_association_refused(assoc, other_assoc):
    """H-ORG-3: only the member's own association's committees."""
    member = new_member(assoc, "m1")
    with pytest.raises(ValidationError, match="本协会的专业委员会"):
        services.do_join_committee(actor=None, member=member, committee=other_assoc.committees[0])


@pytest.mark.parametrize(
    "kinds, tier",
    [
        ([], Tier.PARTICIPANT),
        ([PositionKind.DIRECTOR], Tier.BUILDER),
        ([PositionKind.DEPARTMENT_STAFF], Tier.BUILDER),
        ([PositionKind.COMMITTEE_CHAIR], Tier.PARTICIPANT),
        ([PositionKind.STANDING_DIRECTOR], Tier.LEADER),
        ([PositionKind.DEPUTY_SECRETARY_GENERAL], Tier.LEADER),
        ([PositionKind.DIRECTOR, PositionKind.PRESIDENT], Tier.LEADER),
    ],
)
def test_tiers_derive_from_current_positions(assoc, kinds, tier):
    """H-MEM-4: participant / builder (director, department staff) / leader (standing board, deputy SG and up)."""
    member = new_member(assoc, "m1")
    for kind in kinds:
        unit = assoc.membership_dept if kind == PositionKind.DEPARTMENT_STAFF else None
        unit = assoc.committees[0] if kind == PositionKind.COMMITTEE_CHAIR else unit
        services.do_appoint(actor=None, member=member, kind=kind, unit=unit, term_start=dt.date(2025, 1, 1))
    assert selectors.tier_of(member) == tier


def test_expired_term_no_longer_counts(assoc):
    """H-MEM-4, H-ORG-4: a term that ended makes the member a participant again."""
    member = new_member(assoc, "m1")
    services.do_appoint(
        actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=dt.date(2019, 1, 1),
        term_end=dt.date(2023, 12, 31),
    )  # fmt: skip
    assert selectors.tier_of(member) == Tier.PARTICIPANT
    assert selectors.current_holders(assoc.root, BodyKind.BOARD) == []


def test_current_holders_and_filing_rules(assoc, other_assoc):
    """H-ORG-1, H-ORG-4: holders per body (standing board counts as board); filing only for SG and above."""
    president = new_member(assoc, "pres", "会长")
    director = new_member(assoc, "dir", "理事")
    deputy = new_member(assoc, "dep", "副秘书长")
    outsider = new_member(other_assoc, "x", "外会理事")
    services.do_appoint(
        actor=None, member=president, kind=PositionKind.PRESIDENT, term_start=dt.date(2025, 1, 1),
        filing_date=dt.date(2025, 2, 1), filing_number="甬民社备〔2025〕3号",
    )  # fmt: skip
    services.do_appoint(actor=None, member=director, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    services.do_appoint(
        actor=None, member=deputy, kind=PositionKind.DEPUTY_SECRETARY_GENERAL, term_start=dt.date(2025, 1, 1)
    )
    services.do_appoint(actor=None, member=outsider, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    assert {u.username for u in selectors.current_holders(assoc.root, BodyKind.BOARD)} == {"pres", "dir"}
    assert {u.username for u in selectors.current_holders(assoc.root, BodyKind.STANDING_BOARD)} == {"pres"}
    assert {u.username for u in selectors.current_holders(assoc.root, BodyKind.SECRETARIAT)} == {"dep"}
    assert len(selectors.current_holders(assoc.root, BodyKind.GENERAL_ASSEMBLY)) == 3
    with pytest.raises(ValidationError, match="只有秘书长及以上"):
        services.do_appoint(
            actor=None, member=director, kind=PositionKind.STANDING_DIRECTOR, term_start=dt.date(2025, 1, 1),
            filing_date=dt.date(2025, 2, 1), filing_number="X",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="同时填写"):
        services.do_appoint(
            actor=None, member=deputy, kind=PositionKind.SECRETARY_GENERAL, term_start=dt.date(2025, 1, 1),
            filing_number="X",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="不能早于"):
        services.do_appoint(
            actor=None, member=deputy, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1),
            term_end=dt.date(2024, 1, 1),
        )  # fmt: skip
    with pytest.raises(ValidationError, match="本协会的部门"):
        services.do_appoint(
            actor=None, member=deputy, kind=PositionKind.DEPARTMENT_HEAD, term_start=dt.date(2025, 1, 1),
            unit=other_assoc.membership_dept,
        )  # fmt: skip
    assert Position.objects.filter(association=assoc.root).count() == 3


def test_dues_arrears_per_tier(assoc):
    """H-MEM-3: arrears = paid less than the tier's rate for the year; receipt numbers are unique."""
    payer, partial, owing = new_member(assoc, "p1"), new_member(assoc, "p2"), new_member(assoc, "p3")
    services.do_appoint(actor=None, member=owing, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    services.do_set_dues_rate(actor=None, association=assoc.root, year=2026, tier=Tier.PARTICIPANT, amount="100")
    services.do_set_dues_rate(actor=None, association=assoc.root, year=2026, tier=Tier.BUILDER, amount="300")
    services.do_record_payment(
        actor=None, member=payer, year=2026, amount="100", paid_on=dt.date(2026, 2, 1), method="wechat",
        receipt_number="HF2026-001",
    )  # fmt: skip
    services.do_record_payment(
        actor=None, member=partial, year=2026, amount="60", paid_on=dt.date(2026, 2, 1), method="cash",
        receipt_number="HF2026-002",
    )  # fmt: skip
    rows = {r["member"].user.username: r for r in selectors.arrears(assoc.root, 2026)}
    assert set(rows) == {"p2", "p3"}
    assert rows["p2"]["owed"] == Decimal("40.00")
    assert rows["p3"]["owed"] == Decimal("300.00") and rows["p3"]["tier"] == Tier.BUILDER
    late = new_member(assoc, "p4", joined=dt.date(2027, 1, 1))
    assert late.pk not in {r["member"].pk for r in selectors.arrears(assoc.root, 2026)}  # joined after that year
    with pytest.raises(ValidationError, match="已登记过"):
        services.do_record_payment(
            actor=None, member=owing, year=2026, amount="300", paid_on=dt.date(2026, 2, 1), method="cash",
            receipt_number="HF2026-001",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="大于 0"):
        services.do_record_payment(
            actor=None, member=owing, year=2026, amount="0", paid_on=dt.date(2026, 2, 1), method="cash",
            receipt_number="HF2026-009",
        )  # fmt: skip
    assert DuesPayment.objects.count() == 2
    assert selectors.card_valid_until(payer) == dt.date(2026, 12, 31)
    assert selectors.card_valid_until(owing) is None


def upheld_complaint(member):
    complaint = services.do_register_complaint(
        actor=None, member=member, complainant="来访者家属", contact="13900001111", principle="respect",
        description="泄露来访者隐私", received_on=dt.date(2026, 3, 1),
    )  # fmt: skip
    return services.do_decide_complaint(actor=None, complaint=complaint, upheld=True, decision="经核实，投诉成立。")


def seat(association, kind=PositionKind.DIRECTOR, n=10, prefix="seat"):
    """``n`` members holding ``kind`` since 2025-01-01 — the body that votes on a revocation (H-MEM-5)."""
    for i in range(n):
        holder = new_member(association, f"{prefix}{kind}{i}", joined=dt.date(2025, 1, 1))
        services.do_appoint(actor=None, member=holder, kind=kind, term_start=dt.date(2025, 1, 1))


def revoke(member, body, **extra):
    args = {
        "reason": "ethics_complaint",
        "meeting_date": dt.date(2026, 4, 1),
        "resolution_number": "理决〔2026〕2号",
        "votes_for": 7,
        "votes_against": 2,
        "votes_abstain": 1,
        "detail": "理事会第三次会议表决。",
    }
    args.update(extra)
    return services.do_revoke_membership(actor=None, member=member, body=body, **args)


def test_revocation_rules(assoc, other_assoc):
    """H-MEM-5: wrong body, missing or unlisted reason, failed vote, no upheld complaint — all refused."""
    member = new_member(assoc, "m1")
    seat(assoc)
    bodies = services.ensure_bodies(assoc.root)
    other_bodies = services.ensure_bodies(other_assoc.root)
    complaint = upheld_complaint(member)
    for body in (bodies[BodyKind.SECRETARIAT], bodies[BodyKind.GENERAL_ASSEMBLY], other_bodies[BodyKind.BOARD], None):
        with pytest.raises(ValidationError, match="理事会或常务理事会"):
            revoke(member, body, complaint=complaint)
    for reason in ("", "absent_from_meetings"):
        with pytest.raises(ValidationError, match="四种情形"):
            revoke(member, bodies[BodyKind.BOARD], reason=reason)
    with pytest.raises(ValidationError, match="已认定成立的投诉"):
        revoke(member, bodies[BodyKind.BOARD])
    with pytest.raises(ValidationError, match="未获半数以上同意"):
        revoke(member, bodies[BodyKind.BOARD], complaint=complaint, votes_for=5, votes_against=3, votes_abstain=2)
    with pytest.raises(ValidationError, match="决议文号"):
        revoke(member, bodies[BodyKind.BOARD], complaint=complaint, resolution_number="")
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE and not Revocation.objects.exists()


def test_revocation_keeps_the_record_and_ends_roles(assoc, client):
    """H-MEM-5, H-MEM-3: the member is kept, marked revoked; member roles end; the card page says 已撤销."""
    member = new_member(assoc, "m1", "被撤销会员")
    services.do_join_committee(actor=None, member=member, committee=assoc.committees[0])
    services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    seat(assoc, PositionKind.STANDING_DIRECTOR)
    page = client.get(f"/membership/verify/{member.card_token}/")
    assert "有效" in page.content.decode() or "已过有效期" in page.content.decode()
    revocation = revoke(
        member, services.ensure_bodies(assoc.root)[BodyKind.STANDING_BOARD], reason="criminal", detail="判决生效。"
    )
    member.refresh_from_db()
    assert member.status == MemberStatus.REVOKED and revocation.reason == "criminal"
    assert not Assignment.objects.filter(user=member.user, role__code="member").exists()
    assert not CommitteeMembership.objects.filter(member=member, left_on__isnull=True).exists()
    assert member.user not in selectors.current_holders(assoc.root, BodyKind.BOARD)
    page = client.get(f"/membership/verify/{member.card_token}/")
    body = page.content.decode()
    assert page.status_code == 200 and "已撤销" in body and "被撤销会员" in body and member.number in body
    with pytest.raises(ValidationError, match="已撤销"):
        services.do_join_committee(actor=None, member=member, committee=assoc.committees[1])
    assert client.get(f"/membership/verify/{member.pk}/").status_code == 404


def test_conduct_and_complaints(assoc):
    """H-MEM-6, H-SVC-5: assessments/rewards/sanctions recorded; complaints registered and decided once."""
    member = new_member(assoc, "m1")
    services.do_record_conduct(
        actor=None, member=member, kind="reward", title="年度优秀会员", detail="", decided_on=dt.date(2026, 1, 5)
    )
    with pytest.raises(ValidationError, match="考核、奖励或惩处"):
        services.do_record_conduct(actor=None, member=member, kind="bonus", title="x", detail="", decided_on=None)
    complaint = upheld_complaint(member)
    with pytest.raises(ValidationError, match="已处理"):
        services.do_decide_complaint(actor=None, complaint=complaint, upheld=False, decision="改判")
    with pytest.raises(ValidationError, match="伦理原则"):
        services.do_register_complaint(
            actor=None, member=member, complainant="某", contact="", principle="honesty", description="x",
            received_on=dt.date(2026, 3, 1),
        )  # fmt: skip
    assert member.conduct.count() == 1 and member.complaints.count() == 1


def test_expiring_certificates_and_reminders(assoc):
    """H-MEM-3: certificates expiring within 60 days are listed and reminded once per certificate."""
    from apps.membership import reminders

    member = new_member(assoc, "m1")
    soon = selectors.today() + dt.timedelta(days=20)
    services.do_add_certificate(
        actor=None, member=member, data={"kind": "counsellor", "number": "C1", "issuer": "人社部", "expires_on": soon}
    )
    services.do_add_certificate(
        actor=None, member=member,
        data={"kind": "physician", "number": "P1", "issuer": "卫健委", "expires_on": soon + dt.timedelta(days=400)},
    )  # fmt: skip
    assert [c.number for c in selectors.expiring_certificates(assoc.root)] == ["C1"]
    due = list(reminders.expiring_certificates(None))
    assert len(due) == 1 and due[0].user == member.user


def test_dues_reminders_once_per_member_and_year(assoc, monkeypatch):
    """H-MEM-3: from 1 March, members in arrears are reminded (dedupe key per member and year)."""
    from apps.membership import reminders

    monkeypatch.setattr(selectors, "today", lambda: dt.date(2026, 1, 15))
    owing = new_member(assoc, "m1")
    services.do_set_dues_rate(actor=None, association=assoc.root, year=2026, tier=Tier.PARTICIPANT, amount="100")
    assert list(reminders.dues_arrears(None)) == []  # not before March
    monkeypatch.setattr(selectors, "today", lambda: dt.date(2026, 3, 2))
    due = list(reminders.dues_arrears(None))
    assert [(d.user, d.dedupe_key) for d in due] == [(owing.user, f"{owing.pk}:2026")]
