"""Issue 13 (items 5, 6, 10): vote quorum, duplicate dues, the card of an unpaid member, status codes.

Clocks are frozen where the year matters (the last minute of a year, Beijing time), so the suite
gives the same answer at any hour.
"""

import datetime as dt
import hashlib
import hmac
import subprocess
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client

from apps.audit.models import AuditEntry
from apps.core.money import format_money, parse_amount
from apps.membership import selectors, services
from apps.membership.choices import ApplicationStatus, PositionKind, Tier, VoteResult
from apps.membership.models import AdmissionVote, DuesPayment, Member, MembershipSettings
from apps.membership.pdf import membership_card_pdf
from apps.notifications.models import Notification
from conftest import make_user

from .conftest import new_member, submit

SH = ZoneInfo("Asia/Shanghai")
YEAR_END = dt.datetime(2026, 12, 31, 23, 59, tzinfo=SH)  # the last minute of the dues year


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def five_board(assoc, board):
    """The three directors of the fixture and two more: five members entitled to vote."""
    users = list(board)
    for i in (3, 4):
        user = make_user(f"director{i}", assoc.root, "board_member", full_name=f"理事{i}")
        member = services.do_create_member(
            actor=None, association=assoc.root, user=user, name=f"理事{i}", joined_on=dt.date(2025, 1, 10)
        )
        services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
        users.append(user)
    return users


def voting(assoc, officer, seq=1):
    application, _ = submit(assoc, seq)
    return services.do_review_application(actor=officer, application=application, passed=True, note="材料齐全")


# --- H-MEM-2 / H-MEM-5: quorum of the board ------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False)
def test_vote_is_not_closed_before_two_thirds_of_the_board_voted(assoc, officer, secretariat, board):
    """H-MEM-2, H-MEM-5: 1 of 5 directors voted → closing is refused, names who has not voted, changes nothing."""
    directors = five_board(assoc, board)
    application = voting(assoc, officer)
    services.do_cast_ballot(actor=directors[0], application=application, choice="approve")
    audit_before, notes_before = AuditEntry.objects.count(), Notification.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.do_close_vote(actor=secretariat, application=application)
    assert refused.value.code == "quorum"
    message = refused.value.messages[0]
    assert "未达到法定人数" in message and "2/3" in message and "至少须 4 人" in message
    assert all(f"理事{i}" in message for i in (1, 2, 3, 4)) and "理事0" not in message
    # nothing changed: no result, no member, no audit row, no notification
    vote = AdmissionVote.objects.get(application=application)
    assert vote.closed_at is None and vote.result == VoteResult.OPEN
    application.refresh_from_db()
    assert application.status == ApplicationStatus.VOTING and application.member is None
    assert Member.objects.count() == 5
    assert (AuditEntry.objects.count(), Notification.objects.count()) == (audit_before, notes_before)
    # 3 of 5 is still short of 2/3; the fourth ballot reaches it
    for user in directors[1:3]:
        services.do_cast_ballot(actor=user, application=application, choice="approve")
    with pytest.raises(ValidationError, match="目前只有 3 人投票"):
        services.do_close_vote(actor=secretariat, application=application)
    services.do_cast_ballot(actor=directors[3], application=application, choice="reject")
    application = services.do_close_vote(actor=secretariat, application=application)
    assert application.status == ApplicationStatus.ADMITTED


@time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False)
def test_abstentions_count_towards_the_quorum_and_against(assoc, officer, secretariat, board):
    """H-MEM-2: an abstention is a ballot cast — it makes the quorum (2 of 3) and weighs in the denominator."""
    application = voting(assoc, officer)
    quorum = selectors.vote_quorum_status(application)
    assert (quorum["entitled_count"], quorum["required"], quorum["met"]) == (3, 2, False)
    services.do_cast_ballot(actor=board[0], application=application, choice="approve")
    services.do_cast_ballot(actor=board[1], application=application, choice="abstain")
    assert selectors.vote_quorum_status(application)["met"]
    application = services.do_close_vote(actor=secretariat, application=application)
    assert application.status == ApplicationStatus.REJECTED  # 1 approve of 2 cast is not more than half


@time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False)
def test_quorum_is_a_setting_of_the_association_with_default_two_thirds(
    assoc, other_assoc, officer, secretariat, board
):
    """H-MEM-2: default 2/3; the association may set another fraction (audited), above half; others unaffected."""
    assert selectors.vote_quorum(assoc.root) == (2, 3)
    with pytest.raises(ValidationError, match="超过理事会的半数"):
        services.do_set_vote_quorum(actor=secretariat, association=assoc.root, numerator=1, denominator=2)
    assert not MembershipSettings.objects.exists()
    row = services.do_set_vote_quorum(actor=secretariat, association=assoc.root, numerator=3, denominator=3)
    assert AuditEntry.objects.filter(object_type="membership.membershipsettings", object_id=str(row.pk)).exists()
    assert selectors.vote_quorum(assoc.root) == (3, 3) and selectors.vote_quorum(other_assoc.root) == (2, 3)
    application = voting(assoc, officer)
    for user in board[:2]:
        services.do_cast_ballot(actor=user, application=application, choice="approve")
    with pytest.raises(ValidationError, match="3/3"):  # all three must vote now
        services.do_close_vote(actor=secretariat, application=application)
    with pytest.raises(ValidationError, match="无权"):
        services.do_set_vote_quorum(actor=board[0], association=assoc.root, numerator=2, denominator=3)


@time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False)
def test_close_page_asks_for_confirmation_and_lists_who_has_not_voted(assoc, officer, secretariat, board):
    """H-MEM-2: the close page states the quorum, lists non-voters, needs confirmation, shows the refusal."""
    application = voting(assoc, officer)
    services.do_cast_ballot(actor=board[0], application=application, choice="approve")
    url = f"/membership/applications/{application.pk}/close-vote/"
    client = logged_in(secretariat)
    html = client.get(url).content.decode()
    assert "2/3 以上投票" in html and "至少须 2 人投票" in html and "弃权计入" in html
    assert "理事1" in html and "理事2" in html and 'name="confirm"' in html
    unconfirmed = client.post(url, {})
    assert unconfirmed.status_code == 200 and "invalid-feedback" in unconfirmed.content.decode()
    refused = client.post(url, {"confirm": "on"}).content.decode()
    assert "未达到法定人数" in refused
    application.refresh_from_db()
    assert application.status == ApplicationStatus.VOTING
    services.do_cast_ballot(actor=board[1], application=application, choice="approve")
    done = client.post(url, {"confirm": "on"})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ADMITTED
    ballot_page = logged_in(board[2]).get(f"/membership/applications/{application.pk}/ballot/").content.decode()
    assert "法定人数" in ballot_page and "弃权计入已投票数" in ballot_page


@time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False)
def test_revocation_vote_needs_the_quorum_of_its_body(assoc, board):
    """H-MEM-5, H-MEM-2: a revocation recorded with 1 ballot of a 3-seat board is refused; 2 of 3 suffice."""
    from apps.membership.choices import BodyKind, MemberStatus

    member = new_member(assoc, "wu", "会员吴")
    body = services.ensure_bodies(assoc.root)[BodyKind.BOARD]
    args = {
        "reason": "criminal", "meeting_date": dt.date(2026, 6, 1), "resolution_number": "理决〔2026〕9号",
        "detail": "判决生效。",
    }  # fmt: skip
    with pytest.raises(ValidationError, match="未达到法定人数") as refused:
        services.do_revoke_membership(
            actor=None, member=member, body=body, votes_for=1, votes_against=0, votes_abstain=0, **args
        )
    assert refused.value.code == "quorum" and "至少须 2 人投票" in refused.value.messages[0]
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    services.do_revoke_membership(
        actor=None, member=member, body=body, votes_for=2, votes_against=0, votes_abstain=0, **args
    )
    member.refresh_from_db()
    assert member.status == MemberStatus.REVOKED


# --- H-MEM-3: dues -----------------------------------------------------------------------------------------


def pay(actor, member, receipt, amount="200", **extra):
    return services.do_record_payment(
        actor=actor, member=member, year=2026, amount=amount, paid_on=dt.date(2026, 3, 1), method="wechat",
        receipt_number=receipt, **extra,
    )  # fmt: skip


@time_machine.travel(YEAR_END, tick=False)
def test_second_dues_payment_of_the_same_year_needs_a_supplement_with_reason(assoc, secretariat):
    """H-MEM-3: the same member's second payment for 2026 is refused on the field unless a supplement with reason."""
    member = new_member(assoc, "wang", "会员王")
    pay(secretariat, member, "HF2026-0001")
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as refused:
        pay(secretariat, member, "HF2026-0002")
    error = refused.value.error_dict["is_supplement"][0]
    assert error.code == "dues_duplicate" and "2026 年度会费已于 2026-03-01 登记" in error.message
    assert "HF2026-0001" in error.message and "¥200.00" in error.message
    with pytest.raises(ValidationError) as no_reason:
        pay(secretariat, member, "HF2026-0002", is_supplement=True, supplement_reason="  ")
    assert "supplement_reason" in no_reason.value.error_dict
    assert DuesPayment.objects.count() == 1 and AuditEntry.objects.count() == audit_before
    extra = pay(
        secretariat, member, "HF2026-0002", amount="100", is_supplement=True, supplement_reason="升任理事，补交差额"
    )
    assert extra.is_supplement and extra.supplement_reason == "升任理事，补交差额"
    entry = AuditEntry.objects.get(object_type="membership.duespayment", object_id=str(extra.pk))
    assert "升任理事，补交差额" in str(entry.changes) and entry.purpose == "登记会费补缴"
    # another year is a first payment again
    services.do_record_payment(
        actor=secretariat, member=member, year=2027, amount="200", paid_on=dt.date(2026, 12, 31), method="cash",
        receipt_number="HF2027-0001",
    )  # fmt: skip


@time_machine.travel(YEAR_END, tick=False)
def test_amounts_accept_full_width_digits_and_spaces(assoc, secretariat):
    """H-MEM-3: amounts typed with full-width digits, spaces, ¥ or 元 are read; one display format."""
    member = new_member(assoc, "zhao", "会员赵")
    payment = pay(secretariat, member, "HF2026-0100", amount="１ ２００．５０")
    assert payment.amount == Decimal("1200.50")
    rate = services.do_set_dues_rate(
        actor=secretariat, association=assoc.root, year=2026, tier=Tier.PARTICIPANT, amount="￥ ３００ 元"
    )
    assert rate.amount == Decimal("300.00")
    assert parse_amount("1,234") == Decimal("1234.00") and format_money(Decimal("1234")) == "¥1,234.00"
    with pytest.raises(ValidationError) as refused:
        pay(secretariat, member, "HF2026-0101", amount="二百")
    assert "amount" in refused.value.error_dict
    with pytest.raises(ValidationError, match="两位小数"):
        pay(secretariat, member, "HF2026-0101", amount="１２．３４５")


@time_machine.travel(YEAR_END, tick=False)
def test_dues_page_shows_the_duplicate_on_the_field(assoc, secretariat):
    """H-MEM-3: the ledger page re-shows the form with the refusal under 补缴, and writes nothing."""
    member = new_member(assoc, "sun", "会员孙")
    pay(secretariat, member, "HF2026-0001")
    body = {
        "pay-member": member.pk, "pay-year": 2026, "pay-amount": "２００", "pay-paid_on": "2026-12-31",
        "pay-method": "cash", "pay-receipt_number": "HF2026-0009",
    }  # fmt: skip
    client = logged_in(secretariat)
    response = client.post("/membership/dues/pay/", body)
    html = response.content.decode()
    assert response.status_code == 400
    assert "不能重复登记" in html and "is-invalid" in html and 'value="HF2026-0009"' in html
    assert DuesPayment.objects.count() == 1
    body.update({"pay-is_supplement": "on", "pay-supplement_reason": "补交滞纳部分"})
    assert client.post("/membership/dues/pay/", body).status_code == 302
    ledger = client.get("/membership/dues/?year=2026").content.decode()
    assert "补缴" in ledger and "补交滞纳部分" in ledger and "¥200.00" in ledger


# --- H-MEM-3: the card of a member whose dues are unpaid -------------------------------------------------------


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "card.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@time_machine.travel(YEAR_END, tick=False)
def test_card_of_a_member_with_unpaid_dues_says_so_and_is_not_valid(assoc, secretariat, rf, tmp_path):
    """H-MEM-3: paid last year, not this year → the card page, verification page and PDF say unpaid, not valid."""
    member = new_member(assoc, "qian", "会员钱", joined=dt.date(2025, 3, 1))
    for year in (2025, 2026):
        services.do_set_dues_rate(actor=None, association=assoc.root, year=year, tier=Tier.PARTICIPANT, amount=200)
    services.do_record_payment(
        actor=None, member=member, year=2025, amount=200, paid_on=dt.date(2025, 3, 2), method="cash",
        receipt_number="HF2025-0001",
    )  # fmt: skip
    card = selectors.card_state(member)
    assert (card["state"], card["valid"]) == ("unpaid", False)
    assert "2026 年度会费未缴清" in card["message"] and "2025 年度" in card["message"]
    verify = Client().get(f"/membership/verify/{member.card_token}/").content.decode()
    assert "会费未缴 · 无效" in verify and ">有效<" not in verify
    detail = logged_in(secretariat).get(f"/membership/members/{member.pk}/").content.decode()
    assert "会费未缴 · 无效" in detail
    text = pdf_text(membership_card_pdf(member, request=rf.get("/")), tmp_path)
    assert "无效" in text and "2026 年度会费未缴清" in text and "有效期至 2025-12-31" not in text
    # paid in full: valid to the end of the year
    services.do_record_payment(
        actor=None, member=member, year=2026, amount=200, paid_on=dt.date(2026, 12, 31), method="cash",
        receipt_number="HF2026-0001",
    )  # fmt: skip
    card = selectors.card_state(member)
    assert card["valid"] and card["valid_until"] == dt.date(2026, 12, 31)
    assert ">有效<" in Client().get(f"/membership/verify/{member.card_token}/").content.decode()
    text = pdf_text(membership_card_pdf(member, request=rf.get("/")), tmp_path)
    assert "无效" not in text and "2026-12-31" in text


# --- item 10: application status codes ---------------------------------------------------------------------------


def test_status_codes_are_case_insensitive_and_avoid_look_alikes(assoc, client):
    """H-MEM-1: a new status code has no 0/O/1/I/L; reference and code are matched ignoring case, spaces, dashes."""
    for _ in range(50):
        code = services.new_status_code()
        assert not set(code) & set("0O1IlLoi"), code
    application, secret = submit(assoc, 1)
    assert not set(secret.replace("-", "")) - set(services.STATUS_CODE_ALPHABET)
    for typed in (secret, secret.lower(), secret.replace("-", ""), " ".join(secret.split("-")).lower()):
        assert services.check_application_secret(application, typed) == application
    reference = application.reference.lower()
    assert selectors.application_by_reference(f" {reference} ") == application
    page = client.post("/membership/status/", {"reference": reference, "secret": secret.lower()})
    assert 'data-testid="status"' in page.content.decode()
    with pytest.raises(ValidationError, match="不正确"):
        services.check_application_secret(application, secret[:-1] + ("A" if secret[-1] != "A" else "C"))


def test_status_codes_issued_before_still_work(assoc):
    """H-MEM-1: a code issued before the change (case-sensitive URL-safe token) still opens the status page."""
    application, _ = submit(assoc, 1)
    old_code = "aB0-_lI1xyz9"
    application.secret_hash = hmac.new(settings.SECRET_KEY.encode(), old_code.encode(), hashlib.sha256).hexdigest()
    application.save(update_fields=["secret_hash"])
    assert services.check_application_secret(application, old_code) == application
    with pytest.raises(ValidationError):
        services.check_application_secret(application, old_code.upper())
    # a reference typed with the look-alike letters O and l for the digits 0 and 1
    typed = application.reference.replace("0", "O").replace("1", "l")
    assert selectors.application_by_reference(typed) == application


@time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False)
def test_the_secretariat_sets_the_quorum_on_a_page(assoc, other_assoc, secretariat, board):
    """H-MEM-2: the quorum is set in the browser by who manages positions; a fraction of half or less is refused
    on the field and changes nothing; another association's setting cannot be reached; board members may not."""
    from django.test import Client as Browser

    page = Browser()
    page.force_login(secretariat)
    shown = page.get("/membership/positions/vote-rules/")
    assert shown.status_code == 200 and "2/3 以上投票" in shown.content.decode()
    refused = page.post(
        "/membership/positions/vote-rules/",
        {"association": assoc.root.pk, "vote_quorum_numerator": 1, "vote_quorum_denominator": 2},
    )
    assert refused.status_code == 400
    assert "超过理事会的半数" in str(refused.context["form"].errors["vote_quorum_numerator"])
    assert not MembershipSettings.objects.exists()
    saved = page.post(
        "/membership/positions/vote-rules/",
        {"association": assoc.root.pk, "vote_quorum_numerator": 3, "vote_quorum_denominator": 4},
    )
    assert saved.status_code == 302 and selectors.vote_quorum(assoc.root) == (3, 4)
    assert "3/4 以上投票" in page.get("/membership/positions/").content.decode()
    foreign = page.post(
        "/membership/positions/vote-rules/",
        {"association": other_assoc.root.pk, "vote_quorum_numerator": 3, "vote_quorum_denominator": 4},
    )
    assert foreign.status_code == 404 and selectors.vote_quorum(other_assoc.root) == (2, 3)
    member_page = Browser()
    member_page.force_login(board[0])
    assert member_page.get("/membership/positions/vote-rules/").status_code == 403
