"""End-to-end: a help request routed, assigned and accepted; a crisis mobilisation; the hotline rota."""

import datetime as dt

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.assistance.demo import seed_demo_assistance
from apps.assistance.models import Dispatch, HelpRequest, Responder, StressEvent
from apps.assistance.services import today
from apps.audit.models import AuditEntry
from apps.core.management.commands.seed_demo import DEMO_LOGINS
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed():
    call_command("seed_demo", part="association")
    if StressEvent.objects.exists():  # the lead wired seed_demo_assistance into seed_demo already
        return
    units = {"association": OrgUnit.objects.get(code="DEMO-ASSOC")}
    for unit in OrgUnit.objects.filter(parent=units["association"]):
        units[f"{'committee' if unit.kind == 'committee' else 'dept'}-{unit.name}"] = unit
    users = {u.username: u for u in User.objects.filter(username__in=[row[0] for row in DEMO_LOGINS])}
    seed_demo_assistance(units, users)


def test_help_request_routed_assigned_accepted(live_server, page_factory):
    """H-SVC-1, X-4: registered by the secretariat, routed by specialty, assigned by the head, accepted."""
    seed()
    base = live_server.url
    secretariat = page_factory()
    login(secretariat, base, "secretariat")
    secretariat.click("text=个案求助分派")
    assert "**" in secretariat.inner_text("[data-testid=help-requests]")
    shot(secretariat, "80-assistance-help-list")
    secretariat.click("text=登记求助")
    secretariat.select_option("select[name=channel]", "hotline")
    secretariat.fill("input[name=seeker_name]", "黄女士")
    secretariat.fill("input[name=seeker_phone]", "13588886666")
    secretariat.select_option("select[name=specialty]", "crisis")
    secretariat.select_option("select[name=urgency]", "crisis")
    secretariat.fill("textarea[name=topic]", "丈夫车祸去世一周，整夜失眠，反复自责，想找人聊聊。")
    shot(secretariat, "81-assistance-help-form")
    secretariat.click("button:has-text('保存')")
    secretariat.wait_for_selector("[data-testid=committee]")
    assert "危机干预专业委员会" in secretariat.inner_text("[data-testid=committee]")
    assert secretariat.inner_text("[data-testid=seeker-name]") == "黄**"
    shot(secretariat, "82-assistance-help-routed")
    with unscoped("find the request the browser created"):
        row = HelpRequest.objects.filter(specialty="crisis", urgency="crisis").order_by("-id").first()

    head = page_factory()
    login(head, base, "committee")
    head.goto(f"{base}/assistance/help/{row.pk}/")
    assignee = head.locator("[data-testid=assign-form] select[name=assignee] option", has_text="何静怡")
    head.select_option("[data-testid=assign-form] select[name=assignee]", assignee.get_attribute("value"))
    shot(head, "83-assistance-help-assign")
    head.click("[data-testid=assign-form] button")
    head.wait_for_selector("text=已分派给何静怡")
    assert "何静怡" in head.inner_text("[data-testid=assignee]")

    counsellor = page_factory()
    login(counsellor, base, "demo_he")
    counsellor.click("text=我的接案与学时")
    assert f"#{row.pk}" in counsellor.inner_text("[data-testid=my-help]")
    shot(counsellor, "84-assistance-my-page")
    counsellor.click(f"text=个案求助 #{row.pk}")
    assert "135****6666" in counsellor.inner_text("[data-testid=seeker-phone]")
    counsellor.click("button:has-text('确认接案')")
    counsellor.wait_for_selector("text=已接案")
    assert "13588886666" in counsellor.inner_text("[data-testid=seeker-phone]")
    assert "接待中" in counsellor.inner_text("[data-testid=my-help-status]")
    shot(counsellor, "85-assistance-help-accepted")
    assert AuditEntry.objects.filter(object_id=str(row.pk), purpose="接案心理师查看求助者联系方式").exists()


def test_crisis_mobilisation_and_rota(live_server, page_factory):
    """H-SVC-3: the school event; the roster filtered by skill and time; responders dispatched; the week's rota."""
    seed()
    base = live_server.url
    event = StressEvent.objects.get(title="某中学学生意外事件")
    page = page_factory()
    login(page, base, "secretariat")
    page.click("text=应激事件")
    page.click("text=某中学学生意外事件")
    assert "已完成" in page.inner_text("[data-testid=dispatches]")
    shot(page, "86-assistance-event-detail")
    page.click("text=调派援助人员")
    day = today() + dt.timedelta(days=3)
    page.fill("input[name=starts_at]", f"{day.isoformat()}T09:00")
    page.fill("input[name=ends_at]", f"{day.isoformat()}T13:00")
    page.select_option("select[name=skill]", "crisis_intervention")
    page.click("button:has-text('查找可调派人员')")
    page.wait_for_selector("[data-testid=dispatch-form]")
    offered = page.inner_text("[data-testid=dispatch-form]")
    assert "危机干预" in offered and "冯子墨" not in offered  # 冯子墨 has no crisis-intervention skill
    boxes = page.query_selector_all("input[name=responders]")
    assert boxes
    boxes[0].check()
    page.select_option("select[name=role]", "counsellor")
    shot(page, "87-assistance-mobilise")
    before = Dispatch.objects.filter(event=event).count()
    page.click("button:has-text('调派并通知')")
    page.wait_for_selector("text=已调派 1 人")
    assert Dispatch.objects.filter(event=event).count() == before + 1
    shot(page, "88-assistance-dispatched")

    # H-SVC-3, issue 13 item 7: at 00:30 nobody is in their own period; the nearest qualified people are
    # listed, an out-of-hours dispatch needs a reason, an unqualified one is refused, the notices are real.
    night = today() + dt.timedelta(days=4)
    page.goto(f"{base}/assistance/events/{event.pk}/mobilise/")
    page.fill("input[name=starts_at]", f"{night.isoformat()}T00:30")
    page.fill("input[name=ends_at]", f"{night.isoformat()}T04:00")
    page.select_option("select[name=skill]", "crisis_intervention")
    page.click("button:has-text('查找可调派人员')")
    page.wait_for_selector("[data-testid=empty-roster]")
    assert "名册上没有人在本人的可调派时段内" in page.inner_text("[data-testid=empty-roster]")
    nearest = page.inner_text("[data-testid=nearest]")
    assert "07:00—22:00" in nearest
    shot(page, "91-assistance-night-nearest")
    offered = [int(box.get_attribute("value")) for box in page.query_selector_all("input[name=responders]")]
    with unscoped("pick the demo responders the page offered"):
        rows = Responder.objects.filter(pk__in=offered).prefetch_related("skills")
        no_hotline = [r.pk for r in rows if "hotline" not in {s.skill for s in r.skills.all()}]
    assert no_hotline, "the demo roster has a crisis responder without the hotline skill"
    page.check(f"input[name=responders][value='{no_hotline[0]}']")
    page.select_option("select[name=role]", "counsellor")
    page.click("button:has-text('调派并通知')")
    page.wait_for_selector("text=请填写越时段调派原因")
    assert "请填写越时段调派原因" in page.locator(".mb-3:has(textarea[name=reason]) .invalid-feedback").inner_text()
    shot(page, "92-assistance-night-reason-required")
    page.fill("textarea[name=reason]", "深夜事件，值班名册无人，已电话确认本人可以到场")
    page.select_option("select[name=role]", "hotline")
    page.click("button:has-text('调派并通知')")
    page.wait_for_selector("text=所需的技能")
    assert "热线接听" in page.locator(".mb-3:has(input[name=responders]) .invalid-feedback").inner_text()
    shot(page, "93-assistance-night-unqualified")
    page.select_option("select[name=role]", "counsellor")
    page.click("button:has-text('调派并通知')")
    page.wait_for_selector("text=各人通知情况见调派记录")
    flash = page.inner_text("body")
    assert "已通知本人" not in flash and "站内信：已送达 1 人" in flash and "短信：" in flash
    notices = page.inner_text("[data-testid=dispatches]")
    assert "越时段：深夜事件" in notices and "站内信" in notices and "短信" in notices
    shot(page, "94-assistance-night-dispatched")
    page.click("text=热线值班表")
    assert page.inner_text("[data-testid=rota]").count("—") >= 10
    shot(page, "89-assistance-rota")
    page.click("text=年度学时统计")
    shot(page, "90-assistance-hours-totals")
