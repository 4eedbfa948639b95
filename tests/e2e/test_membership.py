"""End-to-end: apply on the public page → first review → board vote → admitted → dues → card PDF → QR page."""

import datetime as dt
import re
import subprocess

import pytest
from huey.contrib.djhuey import HUEY

from apps.accounts.models import Assignment, Role
from apps.membership import services
from apps.membership.choices import PositionKind
from apps.membership.models import Member
from apps.notifications.backends import sms_outbox
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit
from conftest import PASSWORD, make_user

from .conftest import ARTIFACTS, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base, username, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=active-grant]")


def logout(page, base):
    page.context.clear_cookies()


def photo_file(tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 400), (232, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.ellipse((95, 60, 205, 180), fill=(70, 120, 190))
    draw.rounded_rectangle((50, 190, 250, 400), radius=50, fill=(70, 120, 190))
    path = tmp_path / "photo.png"
    image.save(path)
    return path


@pytest.fixture
def applicant_sms(settings):
    """The applicant's SMS are sent at once by the real huey task and kept whole in memory (MemorySmsBackend)."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"
    sms_outbox.clear()
    previous, HUEY.immediate = HUEY.immediate, True
    yield sms_outbox
    HUEY.immediate = previous


def sms_texts(outbox) -> list[str]:
    return [m.text for m in outbox]


def build_association():
    root = do_create_unit(actor=None, parent=None, kind=UnitKind.ASSOCIATION, name="示范市心理援助协会", code="E2E-A")
    committees = [
        do_create_unit(actor=None, parent=root, kind=UnitKind.COMMITTEE, name=name, code=f"E2E-C{i}")
        for i, name in enumerate(["青少年心理专业委员会", "危机干预专业委员会", "艺术治疗专业委员会"], start=1)
    ]
    officer = make_user("e2e_officer", root, "membership_officer", full_name="会员部李")
    secretariat = make_user("e2e_secretariat", root, "association_secretariat", full_name="秘书长孙")
    board = []
    for i, name in enumerate(["理事王", "理事钱", "理事冯"]):
        # 理事冯 is a plain member appointed director: the seat, not a role, gives the vote
        user = make_user(f"e2e_board{i}", root, "board_member" if i < 2 else None, full_name=name)
        member = services.do_create_member(
            actor=None, association=root, user=user, name=name, joined_on=dt.date(2020, 1, 1)
        )
        services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=dt.date(2024, 7, 1))
        board.append(user)
    year = dt.date.today().year  # noqa: DTZ011 - the live server's local year, for the dues rate
    services.do_set_dues_rate(actor=None, association=root, year=year, tier="participant", amount="200")
    assert Role.objects.filter(code="member").exists()
    return root, committees, officer, secretariat, board, year


def test_apply_vote_admit_pay_card_verify(live_server, page_factory, tmp_path, applicant_sms):
    """H-MEM-1, H-MEM-2, H-MEM-3, X-7: the whole membership journey, in the browser, with screenshots."""
    root, committees, officer, secretariat, board, year = build_association()
    base = live_server.url

    # 1. the applicant, on a phone
    phone = page_factory(width=390, height=844)
    phone.set_default_timeout(60000)  # a loaded CI machine: the first page also warms the live server
    phone.goto(f"{base}/membership/apply/")
    phone.click("text=示范市心理援助协会")
    assert "协会章程" in phone.inner_text("[data-testid=charter]")
    phone.check("input[name=charter_accepted]")
    phone.fill("input[name=name]", "林雨欣")
    phone.fill("input[name=id_number]", "330102198503120014")
    phone.fill("input[name=phone]", "13857001234")
    phone.fill("input[name=employer]", "实验中学")
    phone.select_option("select[name=education]", "postgraduate")
    phone.fill("input[name=major]", "应用心理学")
    phone.fill("textarea[name=experience]", "担任学校心理教师八年，参与过两次突发事件心理援助。")
    phone.check(f"input[name=committees][value='{committees[0].pk}']")
    phone.check(f"input[name=committees][value='{committees[1].pk}']")
    phone.select_option("select[name=cert1_kind]", "counsellor")
    phone.fill("input[name=cert1_number]", "2016330100456")
    phone.fill("input[name=cert1_issuer]", "人力资源和社会保障部")
    phone.set_input_files("input[name=photo]", str(photo_file(tmp_path)))
    shot(phone, "membership-01-apply-form")
    phone.click("button:has-text('提交申请')")
    phone.wait_for_selector("[data-testid=apply-done]")
    reference = phone.inner_text("[data-testid=reference]").strip()
    secret = phone.inner_text("[data-testid=secret]").strip()
    shot(phone, "membership-02-apply-done")
    texts = sms_texts(applicant_sms)  # the address is built from SITE_URL (issue 13 item 10)
    assert len(texts) == 1 and texts[0].startswith(f"您的入会申请{reference}已收到。请凭申请编号和查询码在")
    assert texts[0].endswith("/membership/status/查看。")

    # 2. first review by the membership department
    staff = page_factory()
    staff.set_default_timeout(60000)
    login(staff, base, "e2e_officer")
    staff.goto(f"{base}/membership/applications/")
    staff.click(f"text={reference}")
    assert "林雨欣" in staff.inner_text("main")
    staff.select_option("[data-testid=review-form] select[name=decision]", "pass")
    staff.fill("[data-testid=review-form] textarea[name=note]", "材料齐全，提交理事会表决。")
    staff.click("[data-testid=review-form] button")
    assert "理事会表决中" in staff.inner_text("[data-testid=application-status]")
    shot(staff, "membership-03-first-review")
    detail_url = staff.url

    # 3. the board votes: two approve, one rejects; a second vote is refused
    for username, choice in [("e2e_board0", "approve"), ("e2e_board1", "approve"), ("e2e_board2", "reject")]:
        logout(staff, base)
        login(staff, base, username)
        if username == "e2e_board2":  # only the member grant: the vote waits on 我的会员信息
            staff.goto(f"{base}/membership/me/")
            staff.click(f"[data-testid=my-votes] >> text=申请 {reference}")
            shot(staff, "membership-04a-member-director-vote")
        else:
            staff.goto(detail_url)
        staff.check(f"[data-testid=ballot-form] input[value={choice}]")
        staff.click("[data-testid=ballot-form] button")
        assert "您已投票" in staff.inner_text("[data-testid=vote]")
        if username == "e2e_board0":
            # H-MEM-2: 1 of 3 has voted — the secretariat cannot close before the quorum (2/3)
            assert "至少须 2 人投票" in staff.inner_text("[data-testid=vote-rules]")
            logout(staff, base)
            login(staff, base, "e2e_secretariat")
            staff.goto(detail_url)
            staff.click("[data-testid=close-vote] a")
            assert "理事钱" in staff.inner_text("[data-testid=not-voted]")
            staff.check("[data-testid=close-vote-form] input[name=confirm]")
            staff.click("[data-testid=close-vote-form] button")
            refusal = staff.inner_text("[data-testid=close-vote-form] .alert-danger")
            assert "未达到法定人数" in refusal and "理事钱、理事冯" in refusal
            shot(staff, "membership-04b-close-refused-no-quorum")
            staff.goto(detail_url)
            assert "理事会表决中" in staff.inner_text("[data-testid=application-status]")
    shot(staff, "membership-04-board-vote")

    # 4. the secretariat closes the vote after confirming on the close page: admitted
    logout(staff, base)
    login(staff, base, "e2e_secretariat")
    staff.goto(detail_url)
    staff.click("[data-testid=close-vote] a")
    assert "应表决理事均已投票" in staff.inner_text("[data-testid=not-voted]")
    staff.check("[data-testid=close-vote-form] input[name=confirm]")
    shot(staff, "membership-04c-close-confirm")
    staff.click("[data-testid=close-vote-form] button")
    assert "已入会" in staff.inner_text("[data-testid=application-status]")
    assert "同意 2，反对 1，弃权 0" in staff.inner_text("[data-testid=vote]")
    assert f"您的入会申请{reference}已获批准" in sms_texts(applicant_sms)[-1]
    assert "138****1234：已发送" in staff.inner_text("[data-testid=applicant-notices]")
    shot(staff, "membership-05-admitted")
    staff.goto(f"{base}/membership/overview/")
    staff.wait_for_selector("#chart-tiers canvas")
    assert "已入会" in staff.inner_text("[data-testid=stages]")
    shot(staff, "membership-05b-dashboard")

    # 5. the applicant sees the outcome and sets a password
    phone.goto(f"{base}/membership/status/")
    phone.fill("input[name=reference]", reference)
    phone.fill("input[name=secret]", secret)
    phone.click("[data-testid=status-form] button")
    assert "已入会" in phone.inner_text("[data-testid=status]")
    username = phone.inner_text("[data-testid=username]").strip()
    phone.fill("[data-testid=password-form] input[name=password]", "Lin-Yuxin-2026!")
    phone.click("[data-testid=password-form] button")
    assert "登录密码已设置" in phone.inner_text("main")
    shot(phone, "membership-06-status-admitted")

    # 6. the membership department records the dues
    member = Member.objects.get(user__username=username)
    assert Assignment.objects.filter(user=member.user, unit=committees[1], role__code="member").exists()
    logout(staff, base)
    login(staff, base, "e2e_officer")
    # H-MEM-3: before the dues are paid, the card says so plainly and is not valid
    unpaid = staff.request.get(f"{base}/membership/members/{member.pk}/card.pdf")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    unpaid_pdf = ARTIFACTS / "membership-card-unpaid.pdf"
    unpaid_pdf.write_bytes(unpaid.body())
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "100",
            "-singlefile",
            str(unpaid_pdf),
            str(ARTIFACTS / "membership-06b-card-unpaid"),
        ],
        check=True,
    )
    unpaid_text = subprocess.run(["pdftotext", str(unpaid_pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "无效" in unpaid_text and "会费未缴清" in unpaid_text
    staff.goto(f"{base}/membership/verify/{member.card_token}/")
    assert staff.inner_text("[data-testid=verify-status]") == "会费未缴 · 无效"
    shot(staff, "membership-06c-verify-unpaid")
    staff.goto(f"{base}/membership/dues/?year={year}")
    staff.select_option("[data-testid=payment-form] select[name=pay-member]", str(member.pk))
    staff.fill("[data-testid=payment-form] input[name=pay-amount]", "２００")  # full-width digits are read
    staff.select_option("[data-testid=payment-form] select[name=pay-method]", "wechat")
    staff.fill("[data-testid=payment-form] input[name=pay-receipt_number]", f"HF{year}-0001")
    staff.click("[data-testid=payment-form] button")
    assert f"HF{year}-0001" in staff.inner_text("[data-testid=ledger]")
    assert "¥200.00" in staff.inner_text("[data-testid=ledger]")
    shot(staff, "membership-07-dues-ledger")
    # H-MEM-3: the same year's dues again → refused on the 补缴 field, nothing written
    staff.select_option("[data-testid=payment-form] select[name=pay-member]", str(member.pk))
    staff.fill("[data-testid=payment-form] input[name=pay-amount]", "200")
    staff.select_option("[data-testid=payment-form] select[name=pay-method]", "cash")
    staff.fill("[data-testid=payment-form] input[name=pay-receipt_number]", f"HF{year}-0002")
    staff.click("[data-testid=payment-form] button")
    field_error = staff.inner_text(
        "[data-testid=payment-form] .mb-3:has(input[name=pay-is_supplement]) .invalid-feedback"
    )
    assert "不能重复登记" in field_error and f"HF{year}-0001" in field_error
    assert f"HF{year}-0002" not in staff.inner_text("[data-testid=ledger]")
    shot(staff, "membership-07b-dues-duplicate-refused")

    # 7. the new member logs in, sees their own record and downloads the card
    member_page = page_factory()
    member_page.set_default_timeout(60000)
    login(member_page, base, username, "Lin-Yuxin-2026!")
    member_page.goto(f"{base}/membership/me/")
    text = member_page.inner_text("main")
    assert member.number in text and "已缴清" in text and "危机干预专业委员会" in text
    shot(member_page, "membership-08-self-service")
    response = member_page.request.get(f"{base}/membership/me/{member.pk}/card.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "membership-card.pdf"
    pdf.write_bytes(response.body())
    subprocess.run(
        ["pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(ARTIFACTS / "membership-09-card")], check=True
    )
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "会 员 证" in text and "林雨欣" in text and member.number in text and f"{year}-12-31" in text

    # 8. the QR page verifies (only name, number, validity)
    member_page.goto(f"{base}/membership/verify/{member.card_token}/")
    assert member_page.inner_text("[data-testid=verify-status]") == "有效"
    verify = member_page.inner_text("[data-testid=verify]")
    assert "林雨欣" in verify and member.number in verify and "3301" not in verify and "1385" not in verify
    shot(member_page, "membership-10-verify")
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", member.card_token)
