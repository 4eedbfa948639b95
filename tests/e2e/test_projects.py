"""End-to-end: project list and statistics, an over-budget expense refused, acceptance after final accounts."""

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.projects.demo import seed_demo_projects
from apps.projects.models import Project

from .conftest import shot
from .test_governance import association_units
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_budget_control_and_acceptance(live_server, page_factory):
    """H-PROJ-1: statistics, over-budget refused for a committee head, acceptance refused until final accounts."""
    call_command("seed_demo", part="association")
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["secretariat", "membership", "board", "committee", "member"])
    }
    seed_demo_projects(association_units(), users)
    crisis_running = Project.objects.get(status="running", unit__name="危机干预专业委员会")
    closing = Project.objects.filter(status="closing").order_by("id").first()
    base = live_server.url

    sec = page_factory()
    login(sec, base, "secretariat")
    sec.click("#sidebar a.nav-link:text-is('项目')")
    rows = sec.inner_text("[data-testid=projects]")
    assert "社区心理健康服务进社区" in rows and "政府项目" in rows
    shot(sec, "projects-00-list")
    sec.click("#sidebar a.nav-link:text-is('项目统计')")
    assert "项目总数" in sec.inner_text("[data-testid=summary]")
    shot(sec, "projects-01-statistics")

    head = page_factory()
    login(head, base, "committee")
    head.goto(f"{base}/projects/{crisis_running.pk}/")
    shot(head, "projects-02-detail")
    head.click("text=登记支出")
    head.select_option("select[name=line]", label="宣传印刷")
    head.fill("input[name=amount]", "999999")
    head.fill("input[name=description]", "追加印刷宣传册")
    head.click("button:has-text('保存')")
    assert "须由秘书处批准" in head.inner_text("main")
    shot(head, "projects-03-over-budget-refused")

    sec.goto(f"{base}/projects/{closing.pk}/")
    sec.locator("form[action$='/accept/'] textarea[name=note]").fill("资料齐全")
    sec.click("button:has-text('验收通过')")
    assert "请先编制项目决算" in sec.inner_text("main")
    sec.click("button:has-text('编制决算')")
    assert "项目决算已编制" in sec.inner_text("main")
    sec.locator("form[action$='/accept/'] textarea[name=note]").fill("资料齐全，验收合格")
    sec.click("button:has-text('验收通过')")
    assert "已验收" in sec.inner_text("[data-testid=project-status]")
    shot(sec, "projects-04-accepted")
