"""End-to-end: a member asks for leave, the secretariat approves it, overdue work reports and duty reports."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.core.management.commands.seed_demo import ASSOCIATION_COMMITTEES, ASSOCIATION_DEPARTMENTS
from apps.governance.demo import seed_demo_governance
from apps.orgs.models import OrgUnit

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def association_units() -> dict:
    """The demo association's units under the keys build_demo_units uses."""
    units = {"association": OrgUnit.objects.get(code="DEMO-ASSOC")}
    for i, name in enumerate(ASSOCIATION_DEPARTMENTS, start=1):
        units[f"dept-{name}"] = OrgUnit.objects.get(code=f"DEMO-ASSOC-D{i}")
    for i, name in enumerate(ASSOCIATION_COMMITTEES, start=1):
        units[f"committee-{name}"] = OrgUnit.objects.get(code=f"DEMO-ASSOC-C{i}")
    return units


def seed():
    call_command("seed_demo", part="association")
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["secretariat", "membership", "board", "committee", "member"])
    }
    seed_demo_governance(association_units(), users)


def test_leave_approval_and_overdue_reports(live_server, page_factory):
    """H-ORG-5: leave with a reason before the meeting, approval by the secretariat, overdue work and duty reports."""
    seed()
    base = live_server.url

    member = page_factory()
    login(member, base, "member")
    member.click("#sidebar a.nav-link:text-is('我的会议')")
    upcoming = member.inner_text("[data-testid=my-upcoming]")
    assert "危机干预专委会季度工作会" in upcoming and "常务理事会（年终）" in upcoming
    row = member.locator("[data-testid=my-upcoming] tr", has_text="危机干预专委会季度工作会")
    row.locator("a:has-text('请假')").click()
    member.fill("textarea[name=reason]", "当天带领青少年团体辅导，无法出席")
    shot(member, "governance-00-leave-request")
    member.click("button:has-text('保存')")
    assert "请假申请已提交" in member.inner_text("main")
    shot(member, "governance-01-my-meetings")

    sec = page_factory()
    login(sec, base, "secretariat")
    sec.click("#sidebar a.nav-link:text-is('会议')")
    board_year = (timezone.localdate() - datetime.timedelta(days=45)).year  # the demo's board met 45 days ago
    assert f"{board_year} 年第三次理事会" in sec.inner_text("[data-testid=meetings]")
    shot(sec, "governance-02-meeting-list")
    sec.click("text=危机干预专委会季度工作会")
    sec.locator("[data-testid=leave-decide] button:has-text('批准')").first.click()
    assert "请假审批已登记" in sec.inner_text("main")
    assert "已批准" in sec.inner_text("[data-testid=invitations]")
    shot(sec, "governance-03-meeting-detail")
    sec.click("#sidebar a.nav-link:text-is('书面工作报告')")
    sec.click("a.nav-link:has-text('已逾期')")
    overdue = sec.inner_text("[data-testid=reports-owed]")
    assert "理事王" in overdue and "逾期" in overdue
    shot(sec, "governance-04-overdue-reports")
    sec.goto(f"{base}/governance/duty-reports/?state=missing")
    assert "危机干预专业委员会主任" in sec.inner_text("[data-testid=duty-reports]")
    shot(sec, "governance-05-duty-missing")

    board = page_factory()
    login(board, base, "board")
    board.click("#sidebar a.nav-link:text-is('我的会议')")
    board.locator("[data-testid=my-reports-owed] a:has-text('提交报告')").click()
    board.fill("textarea[name=text]", "近阶段参与了社区讲座两场，完成督导三次。")
    board.click("button:has-text('保存')")
    assert "书面工作报告已提交" in board.inner_text("main")
    shot(board, "governance-06-report-submitted")


def test_past_meeting_refused_recorded_as_held_and_group_invitations(live_server, page_factory):
    """H-ORG-5 (issue 13 item 9): a meeting in the past is refused on 开始时间 unless recorded as already held
    (then marked 补录); invitations pick whole groups with select-all instead of ticking people one by one."""
    seed()
    base = live_server.url
    sec = page_factory()
    login(sec, base, "secretariat")
    sec.goto(f"{base}/governance/meetings/new/")
    sec.select_option("select[name=unit]", label="示范市心理援助协会")
    sec.select_option("select[name=body]", "board")
    sec.fill("input[name=title]", "2020 年第一次理事会")
    sec.fill("input[name=starts_at]", "2020-03-01T09:00")
    sec.fill("input[name=place]", "协会会议室")
    sec.locator("[data-testid=invitation-groups] label", has_text="理事会").first.click()
    sec.click("button:has-text('保存')")
    error = sec.inner_text("input[name=starts_at] ~ .invalid-feedback")
    assert "已经过去，不能安排过去的会议" in error
    shot(sec, "governance-07-past-meeting-refused")

    sec.check("input[name=recorded_after_held]")
    sec.click("button:has-text('保存')")
    assert "已补录该会议" in sec.inner_text("main")
    assert "补录" in sec.inner_text("[data-testid=recorded-after-held]")
    shot(sec, "governance-08-meeting-recorded-after-held")

    sec.goto(f"{base}/governance/meetings/new/")
    starts = timezone.localtime() + datetime.timedelta(days=9)
    sec.select_option("select[name=unit]", label="示范市心理援助协会")
    sec.select_option("select[name=body]", "board")
    sec.fill("input[name=title]", "全体机构联席会议")
    sec.fill("input[name=starts_at]", starts.strftime("%Y-%m-%dT10:00"))
    sec.fill("input[name=place]", "市民中心报告厅")
    assert not sec.is_visible("[data-testid=individual-invitees] .checkbox-grid")  # 140 boxes folded away
    sec.check("#id_groups_all")
    boxes = sec.locator("[data-testid=invitation-groups] input[name=groups]")
    assert boxes.count() >= 4 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    shot(sec, "governance-09-group-invitations")
    sec.click("button:has-text('保存')")
    assert "会议已安排" in sec.inner_text("main")
    invited = sec.locator("[data-testid=invitations] tbody tr").count()
    assert invited > 20
    shot(sec, "governance-10-group-meeting")
