"""End-to-end: a person books on a phone, staff confirm, the counsellor sees the day (S-FLOW-1, S-FLOW-2)."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.appointments.demo import seed_demo_appointments
from apps.appointments.models import Appointment
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_public_booking_confirm_and_counsellors_day(live_server, page_factory, settings):
    """S-FLOW-1, S-FLOW-2, issue 14 item 4: public phone booking → SMS code → reference; staff confirm; the
    counsellor's day in order."""
    from apps.notifications.backends import sms_outbox

    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"  # the code, unmasked
    sms_outbox.clear()
    call_command("seed_demo", part="service")
    codes = {"community-1-1": "DEMO-S1C1", "community-2-1": "DEMO-S2C1", "street-1": "DEMO-S1", "district": "DEMO-D"}
    units = {key: OrgUnit.objects.get(code=code) for key, code in codes.items()}
    users = {u.username: u for u in User.objects.filter(username__in=["counsellor", "community"])}
    seed_demo_appointments(units, users)  # idempotent: a no-op when seed_demo already added them
    base = live_server.url

    phone = page_factory(390, 844)
    phone.goto(f"{base}/book/")
    assert "东坡社区社会心理服务室" in phone.inner_text("[data-testid=public-units]")
    assert "湖滨街道社区卫生服务中心心理科" not in phone.inner_text("main")
    shot(phone, "60-book-units-phone")
    phone.click("text=东坡社区社会心理服务室")
    phone.wait_for_selector("[data-testid=slots] .slot-grid label")
    slot_value = phone.get_attribute("[data-testid=slots] input[name=slot]", "value")
    phone.click("[data-testid=slots] .slot-grid label >> nth=0")
    phone.fill("input[name=contact_name]", "王小明")
    phone.fill("input[name=contact_phone]", "139 1234 5678")
    phone.fill("textarea[name=needs_symptoms]", "孩子上初二，最近厌学，想咨询如何沟通。")
    phone.click("button:has-text('提交预约')")
    assert "请阅读保密原则" in phone.inner_text("main")  # the notice must be ticked
    shot(phone, "61-book-form-notice-required")
    phone.check("#id_agree")
    phone.fill("textarea[name=needs_symptoms]", "孩子上初二，最近厌学，想咨询如何沟通。")
    phone.click("button:has-text('提交预约')")
    assert "139****5678" in phone.inner_text("[data-testid=code-sent]")  # nothing is held before the code
    (message,) = [m for m in sms_outbox if m.phone == "+8613912345678"]
    phone.fill("input[name=code]", "000000" if message.params["code"] != "000000" else "111111")
    phone.click("button:has-text('确认预约')")
    assert "验证码不正确" in phone.inner_text("main")
    shot(phone, "62a-book-code-phone")
    phone.fill("input[name=code]", message.params["code"])
    phone.click("button:has-text('确认预约')")
    reference = phone.inner_text("[data-testid=reference]").strip()
    assert len(reference) == 8
    assert "0571-8888 6601" in phone.inner_text("[data-testid=unit-contact]")  # issue 13 item 10
    shot(phone, "62-book-reference-phone")
    with unscoped("find the request the browser made"):
        booked = Appointment.objects.get(reference=reference)
    assert booked.status == "requested" and timezone.localtime(booked.starts_at).isoformat() == slot_value

    staff = page_factory()
    login(staff, base, "community")
    staff.click("text=预约管理")
    staff.fill("input[name=reference]", reference)
    staff.click("button:has-text('查找')")
    staff.click(f"text={reference}")
    assert "待确认" in staff.inner_text("main")
    staff.click("text=确认预约")
    staff.check("input[name=told_service]")
    shot(staff, "63-staff-confirm")
    staff.click("button:has-text('保存')")
    staff.wait_for_selector("text=预约已确认")
    detail = staff.inner_text("[data-testid=appointment]")
    assert "钱咨询" in detail
    shot(staff, "64-staff-confirmed")

    counsellor = page_factory()
    login(counsellor, base, "counsellor")
    counsellor.click("text=今日预约")
    day_list = counsellor.inner_text("[data-testid=day-list]")
    times = [line[:5] for line in day_list.splitlines() if line[:2].isdigit() and line[2] == ":"]
    assert times == sorted(times) and len(times) >= 5
    shot(counsellor, "65-counsellor-today")
    day = timezone.localtime(booked.starts_at).date().isoformat()
    counsellor.fill("input[name=date]", day)
    counsellor.click("button:has-text('查看')")
    assert reference in counsellor.inner_text("[data-testid=day-list]")
    shot(counsellor, "66-counsellor-booked-day")


def test_booking_rules_on_the_fields_and_the_week_view(live_server, page_factory):
    """S-FLOW-1, S-FLOW-2, issue 13 items 1 and 10: a past start and an hour outside the opening hours
    are refused on the start-time field; the community manager books it with an override and a
    reason; the week view shows the counsellor's and the room's week; the manager's opening-hours page."""
    from datetime import timedelta

    from apps.appointments.models import Room

    call_command("seed_demo", part="service")
    base = live_server.url
    unit = OrgUnit.objects.get(code="DEMO-S1C1")
    counsellor = User.objects.get(username="counsellor")
    room = Room.objects.filter(unit=unit).order_by("name").first()
    now = timezone.localtime()
    yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    late = (now + timedelta(days=2)).strftime("%Y-%m-%dT22:00")

    staff = page_factory()
    login(staff, base, "community")
    staff.goto(f"{base}/appointments/new/")
    staff.select_option("select[name=unit]", str(unit.pk))
    staff.select_option("select[name=channel]", "phone")
    staff.select_option("select[name=counsellor]", str(counsellor.pk))
    staff.fill("input[name=starts_at]", yesterday)
    staff.fill("input[name=contact_name]", "李晓华")
    staff.fill("input[name=contact_phone]", "13912340000")
    staff.fill("textarea[name=needs_symptoms]", "最近睡眠不好，白天上班，只能晚上来。")
    staff.check("input[name=told_service_content_flow_counsellor]")
    staff.check("input[name=told_confidentiality_and_change_cancel]")
    staff.click("button:has-text('保存')")
    field = staff.locator("input[name=starts_at] >> xpath=ancestor::div[contains(@class,'mb-3')][1]")
    assert "开始时间已经过去" in field.inner_text()
    shot(staff, "67-book-past-start-refused")

    staff.fill("input[name=starts_at]", late)
    staff.click("button:has-text('保存')")
    field = staff.locator("input[name=starts_at] >> xpath=ancestor::div[contains(@class,'mb-3')][1]")
    assert "不在东坡社区社会心理服务室的开放时间内" in field.inner_text()
    shot(staff, "68-book-outside-opening-hours-refused")

    staff.check("input[name=hours_override]")
    staff.click("button:has-text('保存')")
    reason = staff.locator("input[name=override_reason] >> xpath=ancestor::div[contains(@class,'mb-3')][1]")
    assert "请填写在服务时间以外预约的理由" in reason.inner_text()
    staff.fill("input[name=override_reason]", "来访者白天上班，负责人批准晚间加约")
    staff.click("button:has-text('保存')")
    staff.wait_for_selector("text=预约已登记")
    assert "负责人批准" in staff.inner_text("[data-testid=override]")
    shot(staff, "69-book-override-saved")

    staff.goto(f"{base}/appointments/manage/?when=week")
    shot(staff, "70-manage-list-this-week")
    monday = (now - timedelta(days=now.weekday())).date().isoformat()
    staff.goto(f"{base}/appointments/week/?date={monday}&counsellor={counsellor.pk}&room={room.pk}")
    assert "星期一" in staff.inner_text("[data-testid=week-counsellor]")
    assert staff.locator("[data-testid=week-counsellor] a").count() >= 1
    shot(staff, "71-week-view")

    staff.goto(f"{base}/appointments/opening-hours/?unit={unit.pk}")
    assert "08:30–17:30" in staff.inner_text("[data-testid=opening-hours]")
    staff.fill("input[name=opens]", "18:00")
    staff.fill("input[name=closes]", "17:00")
    staff.click("button:has-text('添加开放时段')")
    assert "关门时间须晚于开门时间" in staff.inner_text("[data-testid=opening-form]")
    shot(staff, "72-opening-hours-page")
