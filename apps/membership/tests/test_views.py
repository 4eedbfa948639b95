"""Pages and API of the membership module (H-MEM-1..6, H-ORG-1, H-ORG-4, H-SVC-5)."""

import datetime as dt
import re

import pytest
from django.core.cache import cache

from apps.core.scoping import unscoped
from apps.membership import services
from apps.membership.choices import PositionKind
from apps.membership.models import Application, DuesPayment

from .conftest import application_data, new_member, png, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_rate_limits():
    cache.clear()


def test_public_application_page_end_to_end(client, assoc):
    """H-MEM-1: the public page shows the charter, takes the form and photo, and the status page works."""
    page = client.get(f"/membership/apply/{assoc.root.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and "协会章程" in body and "失去会员资格" in body
    data = application_data(3)
    data["committees"] = [assoc.committees[0].pk]
    data.update({"cert1_kind": "counsellor", "cert1_number": "C-9", "cert1_issuer": "人社部", "photo": png()})
    response = client.post(f"/membership/apply/{assoc.root.pk}/", data)
    body = response.content.decode()
    assert response.status_code == 200 and "申请已提交" in body, body[:3000]
    reference = re.search(r'data-testid="reference">([^<]+)<', body).group(1)
    secret = re.search(r'data-testid="secret">([^<]+)<', body).group(1)
    status = client.post("/membership/status/", {"reference": reference, "secret": secret}).content.decode()
    assert "待初审" in status
    wrong = client.post("/membership/status/", {"reference": reference, "secret": "guess"}).content.decode()
    assert "申请编号或查询码不正确" in wrong and "待初审" not in wrong


def test_public_application_bad_input_refused_in_chinese(client, assoc):
    """H-MEM-1: a bad ID number and a missing photo are refused in Chinese; nothing is saved."""
    data = application_data(4, id_number="330102198503120001")
    data["photo"] = png()
    body = client.post(f"/membership/apply/{assoc.root.pk}/", data).content.decode()
    assert "身份证" in body and "申请已提交" not in body
    data = application_data(4)
    body = client.post(f"/membership/apply/{assoc.root.pk}/", data).content.decode()
    assert "这个字段是必填项" in body or "必填" in body
    with unscoped("test"):
        assert Application.objects.count() == 0


def test_public_application_is_rate_limited(client, assoc):
    """H-MEM-1: the public form refuses a flood of (refused) submissions from one address."""
    from apps.membership.views import APPLY_FAILED_LIMIT

    for _ in range(APPLY_FAILED_LIMIT[0]):
        client.post(f"/membership/apply/{assoc.root.pk}/", {"name": "x"})
    body = client.post(f"/membership/apply/{assoc.root.pk}/", {"name": "x"}).content.decode()
    assert "提交过于频繁" in body


def test_photo_is_private(client, assoc, officer, other_assoc):
    """H-MEM-3: the applicant's photo is served only through the permission-checked view."""
    application, _ = submit(assoc, 1)
    assert client.get(f"/membership/applications/{application.pk}/photo/").status_code == 302  # to login
    client.force_login(officer)
    response = client.get(f"/membership/applications/{application.pk}/photo/")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"\x89PNG")
    stranger = new_member(other_assoc, "stranger")
    from conftest import make_user

    other_officer = make_user("officer2", other_assoc.root, "membership_officer")
    client.force_login(other_officer)
    assert client.get(f"/membership/applications/{application.pk}/photo/").status_code == 404
    assert stranger.pk


def test_review_vote_and_close_through_pages(client, assoc, officer, secretariat, board):
    """H-MEM-1, H-MEM-2: first review, three ballots and closing through the pages."""
    application, _ = submit(assoc, 1)
    client.force_login(officer)
    client.post(f"/membership/applications/{application.pk}/review/", {"decision": "pass", "note": "齐全"})
    for user, choice in zip(board, ["approve", "approve", "abstain"], strict=True):
        client.force_login(user)
        assert "ballot-form" in client.get(f"/membership/applications/{application.pk}/").content.decode()
        client.post(f"/membership/applications/{application.pk}/ballot/", {"choice": choice})
    client.force_login(board[0])
    response = client.post(f"/membership/applications/{application.pk}/ballot/", {"choice": "reject"}, follow=True)
    assert "只能投一次" in response.content.decode()
    client.force_login(secretariat)
    client.post(f"/membership/applications/{application.pk}/close-vote/")  # not confirmed: nothing happens
    with unscoped("test"):
        application.refresh_from_db()
    assert application.status == "voting"
    client.post(f"/membership/applications/{application.pk}/close-vote/", {"confirm": "on"})
    with unscoped("test"):
        application.refresh_from_db()
    assert application.status == "admitted"


def test_member_sees_only_own_record(client, assoc):
    """H-MEM-3, item 7: self-service shows one's own card and nothing of another member; staff pages refuse."""
    me = new_member(assoc, "me", "会员甲")
    other = new_member(assoc, "other", "会员乙")
    services.do_join_committee(actor=None, member=me, committee=assoc.committees[0])
    client.force_login(me.user)
    body = client.get("/membership/me/").content.decode()
    assert "会员甲" in body and me.number in body and "会员乙" not in body and other.number not in body
    assert client.get(f"/membership/me/{other.pk}/card.pdf").status_code == 404
    assert client.get(f"/membership/me/{other.pk}/photo/").status_code == 404
    assert client.get(f"/membership/members/{other.pk}/").status_code == 403
    assert client.get("/membership/members/").status_code == 403
    pdf = client.get(f"/membership/me/{me.pk}/card.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    api = client.get("/api/membership/me/").json()
    assert [row["number"] for row in api] == [me.number]
    assert client.get("/api/membership/members/").status_code == 403


def test_list_pages_query_counts(client, assoc, secretariat, django_assert_max_num_queries):
    """H-MEM-3, H-MEM-4: list pages stay within a fixed number of queries however many members."""
    members = [new_member(assoc, f"m{i}", f"会员{i}") for i in range(12)]
    for i, m in enumerate(members):
        services.do_join_committee(actor=None, member=m, committee=assoc.committees[i % 3])
        if i % 2:
            services.do_record_payment(
                actor=None, member=m, year=2026, amount="100", paid_on=dt.date(2026, 2, 1), method="cash",
                receipt_number=f"R{i}",
            )  # fmt: skip
        if i % 4 == 0:
            services.do_appoint(actor=None, member=m, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    services.do_set_dues_rate(actor=None, association=assoc.root, year=2026, tier="participant", amount="100")
    client.force_login(secretariat)
    for url in (
        "/membership/members/",
        "/membership/dues/?year=2026",
        "/membership/dues/arrears/?year=2026",
        "/membership/positions/",
        "/membership/applications/",
        "/membership/overview/",
        "/api/membership/members/",
    ):
        client.get(url)  # warm caches (sessions, roles)
        with django_assert_max_num_queries(25):
            response = client.get(url)
        assert response.status_code == 200, url
    body = client.get("/membership/members/").content.decode()
    assert "会员11" in body and "理事及部门工作人员（建设者）" in body


def test_dues_page_records_payment_and_refuses_bad_input(client, assoc, officer):
    """H-MEM-3: the ledger form records a payment; a duplicate receipt is refused in Chinese."""
    member = new_member(assoc, "m1")
    client.force_login(officer)
    data = {
        "pay-member": member.pk, "pay-year": 2026, "pay-amount": "100", "pay-paid_on": "2026-02-01",
        "pay-method": "wechat", "pay-receipt_number": "HF-1",
    }  # fmt: skip
    client.post("/membership/dues/pay/", data)
    body = client.post("/membership/dues/pay/", data, follow=True).content.decode()
    assert "已登记过" in body
    assert DuesPayment.objects.count() == 1


def test_card_pdf_and_dashboard(client, assoc, secretariat):
    """H-MEM-3: the staff card PDF renders; the dashboard shows tiers and applications by stage."""
    member = new_member(assoc, "m1", "持证会员")
    services.do_set_member_photo(actor=None, member=member, photo=png())
    client.force_login(secretariat)
    pdf = client.get(f"/membership/members/{member.pk}/card.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    body = client.get("/membership/overview/").content.decode()
    assert "会员类别" in body and "membership-chart" in body


def test_api_review_and_ballot(client, assoc, officer, board):
    """H-MEM-2, X-6: review and vote through the API; a second ballot is a 400 in Chinese."""
    application, _ = submit(assoc, 1)
    client.force_login(officer)
    response = client.post(
        f"/api/membership/applications/{application.pk}/review/", {"passed": True}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "voting"
    client.force_login(board[0])
    url = f"/api/membership/applications/{application.pk}/ballot/"
    assert client.post(url, {"choice": "approve"}, content_type="application/json").status_code == 201
    again = client.post(url, {"choice": "approve"}, content_type="application/json")
    assert again.status_code == 400 and "只能投一次" in again.content.decode()


def test_card_qr_points_to_the_token_page(rf, assoc, monkeypatch):
    """H-MEM-3: the card's QR code encodes the public verification URL with the unguessable token."""
    from apps.membership import pdf

    member = new_member(assoc, "m1")
    seen = []
    monkeypatch.setattr(pdf, "qr_data_uri", lambda url: seen.append(url) or "data:image/png;base64,")
    pdf.membership_card_pdf(member, request=rf.get("/"))
    assert seen == [f"http://testserver/membership/verify/{member.card_token}/"]
    assert str(member.pk) not in member.card_token or len(member.card_token) > 40
