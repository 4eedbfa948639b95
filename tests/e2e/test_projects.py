"""End-to-end: project list and statistics, the budget table, over-budget expenses under four eyes,
acceptance after final accounts."""

import pytest
from django.core.management import call_command

from apps.accounts.models import Assignment, Role, User
from apps.core.management.commands.seed_demo import DEMO_PASSWORD
from apps.projects.demo import seed_demo_projects
from apps.projects.models import Expense, Project

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
    head.fill("input[name=amount]", "９９ ９９９")  # full-width digits and a space, as typed with a Chinese IME
    head.fill("input[name=description]", "追加印刷宣传册")
    head.click("button:has-text('保存')")
    reason_error = head.locator(".mb-3:has(#id_approval_reason) .invalid-feedback").inner_text()
    assert "须填写超预算理由" in reason_error and "提交秘书处审批" in reason_error
    shot(head, "projects-03-over-budget-needs-reason")
    head.fill("textarea[name=approval_reason]", "社区活动需求超出预期")
    head.click("button:has-text('保存')")
    assert "已登记为待审批" in head.inner_text("main")
    assert "待审批" in head.inner_text("[data-testid=expenses]")
    big = Expense.objects.get(description="追加印刷宣传册")
    assert big.status == "pending" and str(big.amount) == "99999.00"

    # H-PROJ-1 four eyes: the secretariat enters an over-budget expense itself and cannot approve it.
    sec.goto(f"{base}/projects/{crisis_running.pk}/expenses/new/")
    sec.select_option("select[name=line]", label="场地与物料")
    sec.fill("input[name=amount]", "８８，８８８")
    sec.fill("input[name=description]", "临时租用大型场地")
    sec.fill("textarea[name=approval_reason]", "区里临时要求扩大活动规模")
    sec.click("button:has-text('保存')")
    own = Expense.objects.get(description="临时租用大型场地")
    assert own.status == "pending" and own.recorded_by.username == "secretariat"
    assert "待另一位有审批权限的人员审批" in sec.inner_text("[data-testid=expenses]")
    sec.goto(f"{base}/projects/expenses/{own.pk}/decide/")
    assert "由您本人登记" in sec.inner_text("[data-testid=own-expense]")
    sec.select_option("select[name=decision]", "approve")
    sec.click("button:has-text('提交审批')")
    assert "不能由您自己审批" in sec.locator(".mb-3:has(#id_decision) .invalid-feedback").inner_text()
    shot(sec, "projects-04-self-approval-refused")
    own.refresh_from_db()
    assert own.status == "pending" and own.decided_by is None

    # The secretariat approves the committee head's expense (a different person): it now counts as spent.
    sec.goto(f"{base}/projects/{crisis_running.pk}/")
    sec.click(f"a[href$='/projects/expenses/{big.pk}/decide/']")
    assert "¥99,999.00" in sec.inner_text("[data-testid=expense-facts]")
    shot(sec, "projects-05-decide")
    sec.select_option("select[name=decision]", "approve")
    sec.fill("textarea[name=note]", "理事会已同意")
    sec.click("button:has-text('提交审批')")
    assert "超预算支出已批准" in sec.inner_text("main")
    assert "¥99,999.00" in sec.inner_text("[data-testid=expenses]")
    big.refresh_from_db()
    assert big.status == "booked" and big.decided_by.username == "secretariat"

    # A second approver decides the secretariat's own expense.
    deputy = User.objects.create_user(
        username="deputy", password=DEMO_PASSWORD, full_name="副秘书长钱", unit=crisis_running.unit.parent
    )
    Assignment.objects.create(
        user=deputy, unit=crisis_running.unit.parent, role=Role.objects.get(code="association_secretariat")
    )
    second = page_factory()
    login(second, base, "deputy")
    second.goto(f"{base}/projects/")
    assert "区里临时要求扩大活动规模" in second.inner_text("[data-testid=awaiting-approval]")
    second.click(f"[data-testid=awaiting-approval] a[href$='/projects/expenses/{own.pk}/decide/']")
    second.select_option("select[name=decision]", "reject")
    second.click("button:has-text('提交审批')")
    assert "驳回理由" in second.locator(".mb-3:has(#id_note) .invalid-feedback").inner_text()
    second.fill("textarea[name=note]", "场地费用应由区里承担")
    second.click("button:has-text('提交审批')")
    assert "已驳回" in second.inner_text("[data-testid=expenses]")

    # The budget is a table of lines: a repeated name is marked on its row; full-width amounts are fine.
    sec.goto(f"{base}/projects/{crisis_running.pk}/edit/")
    table = sec.locator("[data-testid=budget-table]")
    assert table.locator("input[name$='-name']").first.input_value() == "专家劳务费"
    new_rows = table.locator("tr[data-testid=budget-row]")
    count = new_rows.count()
    sec.fill(f"input[name=budget_lines-{count - 3}-name]", "督导费")
    sec.fill(f"input[name=budget_lines-{count - 3}-amount]", "１ ２００")
    sec.fill(f"input[name=budget_lines-{count - 2}-name]", "督导费")
    sec.fill(f"input[name=budget_lines-{count - 2}-amount]", "300")
    sec.click("button:has-text('保存')")
    row_error = table.locator(f"td:has(input[name=budget_lines-{count - 2}-name]) .invalid-feedback").inner_text()
    assert "督导费" in row_error and "重复" in row_error
    assert table.locator(".invalid-feedback").count() == 1
    shot(sec, "projects-06-budget-table-row-error")
    sec.fill(f"input[name=budget_lines-{count - 2}-name]", "")
    sec.fill(f"input[name=budget_lines-{count - 2}-amount]", "")
    sec.click("button:has-text('保存')")
    assert "项目信息已修改" in sec.inner_text("main")
    lines_text = sec.inner_text("[data-testid=budget-lines]")
    assert "督导费" in lines_text and "¥1,200.00" in lines_text
    shot(sec, "projects-07-detail-after")

    sec.goto(f"{base}/projects/{closing.pk}/")
    sec.locator("form[action$='/accept/'] textarea[name=note]").fill("资料齐全")
    sec.click("button:has-text('验收通过')")
    assert "请先编制项目决算" in sec.inner_text("main")
    sec.click("button:has-text('编制决算')")
    assert "项目决算已编制" in sec.inner_text("main")
    sec.locator("form[action$='/accept/'] textarea[name=note]").fill("资料齐全，验收合格")
    sec.click("button:has-text('验收通过')")
    assert "已验收" in sec.inner_text("[data-testid=project-status]")
    shot(sec, "projects-08-accepted")
