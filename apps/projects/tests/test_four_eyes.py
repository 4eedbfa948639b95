"""H-PROJ-1 (issue 13 item 6): over-budget expenses need a second person; budgets are a table of lines;
amounts accept full-width digits and are shown in one format.

The clock is frozen late on a leap day (Beijing time) so that "today" never moves under a test.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from openpyxl import Workbook

from apps.audit.models import AuditEntry
from apps.core.spreadsheets import MONEY_FORMAT, Money, xlsx_row
from apps.notifications.models import Notification
from apps.projects import selectors, services
from apps.projects.forms import ExpenseForm
from apps.projects.models import BudgetLine, Expense, Project
from conftest import make_user

from .test_projects import Assoc

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(dt.datetime(2028, 2, 29, 23, 59, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def assoc(db):
    return Assoc()


@pytest.fixture
def sec(assoc):
    return make_user("fe_sec", assoc.root, "association_secretariat", full_name="秘书长孙")


@pytest.fixture
def sec2(assoc):
    return make_user("fe_sec2", assoc.root, "association_secretariat", full_name="副秘书长钱")


@pytest.fixture
def head(assoc):
    return make_user("fe_head", assoc.committee, "committee_head", full_name="专委会主任赵")


def running(actor, unit, lines=(("宣传印刷", "12000"), ("场地", "500"))):
    today = selectors.today()
    project = services.do_create_project(
        actor=actor, unit=unit, name="社区心理服务", kind="government", sponsor="示范市民政局", manager=actor,
        start_date=today - dt.timedelta(days=30), end_date=today + dt.timedelta(days=300), budget_lines=lines,
    )  # fmt: skip
    return services.do_advance_project(actor=actor, project=project, version=project.version)


def spend(actor, project, amount, name="宣传印刷", reason=""):
    return services.do_record_expense(
        actor=actor, project=project, line=project.lines.get(name=name), amount=amount,
        spent_on=selectors.today(), description="宣传册印刷", approval_reason=reason,
    )  # fmt: skip


def code_of(error: ValidationError, field: str) -> str:
    return error.error_dict[field][0].code


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def counts():
    """Rows that a refused decision must not touch (login audit entries of the test browsers aside)."""
    audit = AuditEntry.objects.filter(object_type="projects.expense").count()
    return (
        list(Expense.objects.values_list("status", "decided_by", "decision_note")),
        audit,
        Notification.objects.count(),
    )


# --- four eyes ----------------------------------------------------------------------------------


def test_self_approval_is_refused_and_changes_nothing(assoc, sec, sec2):
    """H-PROJ-1: the person who entered an over-budget expense can never approve it — even the secretariat."""
    project = running(sec, assoc.dept)
    spend(sec, project, "0.01")  # 11,999.99 left
    expense = spend(sec, project, "99999", reason="加印宣传册")
    assert expense.status == "pending" and expense.over_budget and expense.decided_by is None
    before = counts()
    with pytest.raises(ValidationError) as error:
        services.do_decide_expense(actor=sec, expense=expense, decision="approve", note="同意")
    assert code_of(error.value, "decision") == "self_approval"
    assert "不能由您自己审批" in error.value.error_dict["decision"][0].message
    assert counts() == before
    expense.refresh_from_db()
    assert expense.status == "pending" and expense.decided_by is None and expense.decided_at is None
    assert selectors.project_summary(assoc.root)["spent_total"] == Decimal("0.01")


def test_another_approver_approves_and_only_then_it_counts(assoc, sec, head):
    """H-PROJ-1: an over-budget expense is pending (not spent, approvers told) until a second person approves."""
    project = running(head, assoc.committee)
    with pytest.raises(ValidationError) as error:
        spend(head, project, "99999")  # no reason: refused on the reason field
    assert code_of(error.value, "approval_reason") == "over_budget"
    assert "可用 ¥12,000.00" in error.value.error_dict["approval_reason"][0].message
    assert not Expense.objects.exists()
    expense = spend(head, project, "99999", reason="主办方追加宣传任务")
    assert expense.status == "pending"
    assert selectors.project_summary(assoc.root)["spent_total"] == Decimal("0.00")
    told = Notification.objects.get(recipient=sec)
    assert "¥99,999.00" in told.body and told.url == f"/projects/expenses/{expense.pk}/decide/"
    assert not Notification.objects.filter(recipient=head).exists()

    decided = services.do_decide_expense(actor=sec, expense=expense, decision="approve", note="理事会已同意")
    assert decided.status == "booked" and decided.decided_by == sec and decided.decided_at is not None
    assert selectors.project_summary(assoc.root)["spent_total"] == Decimal("99999.00")
    entry = AuditEntry.objects.filter(object_type="projects.expense", object_id=str(expense.pk)).order_by("id").last()
    assert entry.purpose == "批准超预算支出" and entry.actor_id == sec.pk
    assert Notification.objects.filter(recipient=head, title="超预算支出已批准").exists()
    with pytest.raises(ValidationError) as again:
        services.do_decide_expense(actor=sec, expense=expense, decision="reject", note="改主意")
    assert code_of(again.value, "decision") == "decided"


def test_rejection_needs_a_reason_and_releases_the_budget(assoc, sec, head):
    """H-PROJ-1: a pending expense holds its amount against the line; rejected (with a reason), it never counts."""
    project = running(head, assoc.committee)
    pending = spend(head, project, "12500", reason="加印")
    with pytest.raises(ValidationError) as error:
        spend(head, project, "100")  # 12,000 left on paper, but the pending 12,500 holds all of it
    assert code_of(error.value, "approval_reason") == "over_budget"
    with pytest.raises(ValidationError) as error:
        services.do_decide_expense(actor=sec, expense=pending, decision="reject", note="")
    assert code_of(error.value, "note") == "note"
    assert Expense.objects.get(pk=pending.pk).status == "pending"
    services.do_decide_expense(actor=sec, expense=pending, decision="reject", note="超出项目合同范围")
    assert Expense.objects.get(pk=pending.pk).status == "rejected"
    assert spend(head, project, "100").status == "booked"  # released
    line = next(selectors.lines_with_spent(project))
    assert (line.spent, line.pending, line.available) == (Decimal("100.00"), Decimal("0.00"), Decimal("11900.00"))


def test_only_holders_of_the_approval_permission_decide(assoc, sec, sec2, head):
    """H-PROJ-1: a committee head (manage, not approve) cannot decide anyone's over-budget expense."""
    project = running(sec, assoc.committee)
    expense = spend(sec, project, "20000", reason="加印")
    with pytest.raises(ValidationError) as error:
        services.do_decide_expense(actor=head, expense=expense, decision="approve")
    assert code_of(error.value, "decision") == "forbidden"
    assert services.do_decide_expense(actor=sec2, expense=expense, decision="approve").status == "booked"


def test_final_accounts_wait_for_pending_expenses(assoc, sec, sec2):
    """H-PROJ-1: no final accounts while an over-budget expense awaits a decision; only booked money is spent."""
    project = running(sec, assoc.dept)
    spend(sec, project, "1000")
    expense = spend(sec, project, "20000", reason="加印")
    rejected = spend(sec, project, "600", name="场地", reason="加场")
    services.do_decide_expense(actor=sec2, expense=rejected, decision="reject", note="不必要")
    project = services.do_advance_project(actor=sec, project=project, version=project.version)
    with pytest.raises(ValidationError) as error:
        services.do_draw_final_accounts(actor=sec, project=project, version=project.version)
    assert error.value.code == "pending" and "1 笔" in error.value.messages[0]
    services.do_decide_expense(actor=sec2, expense=expense, decision="approve")
    project = services.do_draw_final_accounts(actor=sec, project=project, version=project.version)
    assert project.final_spent_total == Decimal("21000.00")


def test_self_approval_refused_on_the_page_and_api(assoc, sec, sec2):
    """H-PROJ-1: the decision page shows the refusal on the 审批决定 field; the API answers 400; nothing changes."""
    project = running(sec, assoc.dept)
    expense = spend(sec, project, "20000", reason="加印")
    detail = browser(sec).get(f"/projects/{project.pk}/").content.decode()
    assert "待另一位有审批权限的人员审批" in detail and f"/projects/expenses/{expense.pk}/decide/" not in detail
    before = counts()
    page = browser(sec).post(f"/projects/expenses/{expense.pk}/decide/", {"decision": "approve", "note": "同意"})
    html = page.content.decode()
    assert page.status_code == 200 and 'name="decision"' in html
    assert "invalid-feedback" in html and "不能由您自己审批" in html
    api = browser(sec).post(
        f"/api/projects/expenses/{expense.pk}/decide/", {"decision": "approve"}, content_type="application/json"
    )
    assert api.status_code == 400 and "不能由您自己审批" in api.json()["decision"][0]
    assert counts() == before
    assert f"/projects/expenses/{expense.pk}/decide/" in browser(sec2).get("/projects/").content.decode()
    done = browser(sec2).post(f"/projects/expenses/{expense.pk}/decide/", {"decision": "approve", "note": "同意"})
    assert done.status_code == 302 and Expense.objects.get(pk=expense.pk).status == "booked"


# --- amounts ------------------------------------------------------------------------------------


def test_full_width_amounts_are_accepted_and_shown_in_one_format(assoc, sec):
    """H-PROJ-1: "１２，０００" and "1 200.50" are amounts; pages show ¥12,000.00; exports carry the same format."""
    project = running(sec, assoc.dept, lines=(("宣传印刷", "１２，０００"), ("场地", "1 200.50")))
    assert [line.amount for line in project.lines.order_by("id")] == [Decimal("12000.00"), Decimal("1200.50")]
    assert spend(sec, project, "１ ２００．５０").amount == Decimal("1200.50")
    form = ExpenseForm(
        {
            "line": project.lines.get(name="场地").pk,
            "amount": "３５０．５",
            "spent_on": "2028-02-29",
            "description": "x",
        },
        lines=project.lines.all(),
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == Decimal("350.50")
    bad = ExpenseForm({"amount": "一千"}, lines=project.lines.all())
    assert not bad.is_valid() and "amount" in bad.errors
    detail = browser(sec).get(f"/projects/{project.pk}/").content.decode()
    assert "¥13,200.50" in detail and "¥1,200.50" in detail and "¥10,799.50" in detail
    assert "¥13,200.50" in browser(sec).get("/projects/").content.decode()
    (cell,) = xlsx_row(Workbook(write_only=True).create_sheet(), [Money("13200.50")])
    assert cell.number_format == MONEY_FORMAT == '"¥"#,##0.00' and cell.value == Decimal("13200.50")


# --- budget table -------------------------------------------------------------------------------


def _rows(*rows, prefix="budget_lines", initial=0):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial)}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def _project_post(assoc, manager):
    return {
        "unit": assoc.dept.pk, "name": "校园讲座", "kind": "social", "sponsor": "基金会", "manager": manager.pk,
        "start_date": "2028-01-01", "end_date": "2028-12-31",
    }  # fmt: skip


def test_budget_table_row_errors_and_nothing_written(assoc, sec):
    """H-PROJ-1: the budget is a table of lines; bad rows are marked on their row and nothing is saved."""
    http = browser(sec)
    assert 'name="budget_lines-0-name"' in http.get("/projects/new/").content.decode()
    before = AuditEntry.objects.filter(object_type__startswith="projects.").count()
    bad = _rows(
        {"name": "专家劳务费", "amount": "１２０００"},
        {"name": "专家劳务费", "amount": "300"},
        {"name": "物料", "amount": "abc"},
        {"name": "", "amount": "50"},
        {"name": "", "amount": ""},
    )
    page = http.post("/projects/new/", {**_project_post(assoc, sec), **bad})
    assert page.status_code == 200
    rows = page.context["formset"].forms
    assert "重复" in rows[1].errors["name"][0]
    assert "应为数字" in rows[2].errors["amount"][0]
    assert "科目名称" in rows[3].errors["name"][0]
    assert not rows[0].errors and not rows[4].errors
    assert not Project.objects.exists() and not BudgetLine.objects.exists()
    assert AuditEntry.objects.filter(object_type__startswith="projects.").count() == before
    good = _rows({"name": "专家劳务费", "amount": "１２０００"}, {"name": "物料", "amount": "200.5"}, {})
    response = http.post("/projects/new/", {**_project_post(assoc, sec), **good})
    assert response.status_code == 302
    project = Project.objects.get()
    assert [(x.name, x.amount) for x in project.lines.order_by("id")] == [
        ("专家劳务费", Decimal("12000.00")),
        ("物料", Decimal("200.50")),
    ]


def test_service_reports_every_bad_row_by_its_key(assoc, sec):
    """H-PROJ-1: the service (not only the form) checks all rows and keys each error to its row and field."""
    with pytest.raises(ValidationError) as error:
        services.do_create_project(
            actor=sec, unit=assoc.dept, name="x", kind="own", manager=sec, start_date=dt.date(2028, 1, 1),
            end_date=dt.date(2028, 12, 31),
            budget_lines=[("劳务费", "1"), ("劳务费", "2"), ("物料", "1.005"), ("", "9")],
        )  # fmt: skip
    assert set(error.value.error_dict) == {"budget_lines-1-name", "budget_lines-2-amount", "budget_lines-3-name"}
    assert not Project.objects.exists()


def test_edit_budget_table(assoc, sec):
    """H-PROJ-1: the edit page's table changes, adds and deletes lines; a line with expenses stays, not below spent."""
    project = running(sec, assoc.dept)
    spend(sec, project, "700", name="场地", reason="加场")  # over 500 → pending, holds but is not spent
    spend(sec, project, "300")
    printing, venue = project.lines.order_by("id")
    http = browser(sec)
    form = http.get(f"/projects/{project.pk}/edit/").context["formset"]
    assert [f.initial["name"] for f in form.forms[:2]] == ["宣传印刷", "场地"]
    base = {
        "name": project.name, "sponsor": project.sponsor, "manager": sec.pk, "start_date": str(project.start_date),
        "end_date": str(project.end_date), "description": "",
    }  # fmt: skip
    refused = _rows(
        {"id": printing.pk, "name": "宣传印刷", "amount": "299.99"},
        {"id": venue.pk, "name": "场地", "amount": "500", "DELETE": "on"},
        {"name": "交通", "amount": "800"},
        initial=2,
    )
    before = AuditEntry.objects.filter(object_type__startswith="projects.").count()
    page = http.post(f"/projects/{project.pk}/edit/", {**base, "version": project.version, **refused})
    assert page.status_code == 200
    rows = page.context["formset"].forms
    assert "不能低于" in rows[0].errors["amount"][0] and "¥300.00" in rows[0].errors["amount"][0]
    assert "不能删除" in rows[1].errors["name"][0]
    assert list(project.lines.order_by("id").values_list("name", "amount")) == [
        ("宣传印刷", Decimal("12000.00")),
        ("场地", Decimal("500.00")),
    ]
    assert AuditEntry.objects.filter(object_type__startswith="projects.").count() == before
    ok = _rows(
        {"id": printing.pk, "name": "宣传印刷", "amount": "8 000"},
        {"id": venue.pk, "name": "场地租金", "amount": "500"},
        {"name": "交通", "amount": "８００"},
        initial=2,
    )
    assert http.post(f"/projects/{project.pk}/edit/", {**base, "version": project.version, **ok}).status_code == 302
    assert list(project.lines.order_by("id").values_list("name", "amount")) == [
        ("宣传印刷", Decimal("8000.00")),
        ("场地租金", Decimal("500.00")),
        ("交通", Decimal("800.00")),
    ]
    gone = project.lines.get(name="交通")
    project.refresh_from_db()
    delete = _rows(
        {"id": printing.pk, "name": "宣传印刷", "amount": "8000"},
        {"id": venue.pk, "name": "场地租金", "amount": "500"},
        {"id": gone.pk, "name": "交通", "amount": "800", "DELETE": "on"},
        initial=3,
    )
    assert http.post(f"/projects/{project.pk}/edit/", {**base, "version": project.version, **delete}).status_code == 302
    assert not BudgetLine.objects.filter(pk=gone.pk).exists()


def test_budget_lines_swap_names_and_reuse_a_deleted_name(assoc, sec):
    """H-PROJ-1: one save of the budget table may swap two names or give a deleted line's name to a new one."""
    project = running(sec, assoc.dept)
    printing, venue = project.lines.order_by("id")
    project = services.do_update_project(
        actor=sec, project=project, version=project.version, name=project.name, sponsor=project.sponsor,
        manager=sec, start_date=project.start_date, end_date=project.end_date,
        budget_lines=[
            {"id": printing.pk, "name": "场地", "amount": "12000"},
            {"id": venue.pk, "name": "宣传印刷", "amount": "500", "delete": True},
            {"name": "宣传印刷", "amount": "９００"},
        ],
    )  # fmt: skip
    assert list(project.lines.order_by("id").values_list("name", "amount")) == [
        ("场地", Decimal("12000.00")),
        ("宣传印刷", Decimal("900.00")),
    ]


def test_an_approved_overspend_does_not_block_editing_the_table(assoc, sec, sec2):
    """H-PROJ-1: a line overspent with approval may be kept as it is when other lines of the table change."""
    project = running(sec, assoc.dept)
    over = spend(sec, project, "800", name="场地", reason="加场")
    services.do_decide_expense(actor=sec2, expense=over, decision="approve", note="同意")
    printing, venue = project.lines.order_by("id")
    project = services.do_update_project(
        actor=sec, project=project, version=project.version, name=project.name, sponsor=project.sponsor,
        manager=sec, start_date=project.start_date, end_date=project.end_date,
        budget_lines=[
            {"id": printing.pk, "name": "宣传印刷", "amount": "11000"},
            {"id": venue.pk, "name": "场地", "amount": "500"},
        ],
    )  # fmt: skip
    assert project.lines.get(pk=printing.pk).amount == Decimal("11000.00")
    with pytest.raises(ValidationError) as error:
        services.do_update_project(
            actor=sec, project=project, version=project.version, name=project.name, sponsor=project.sponsor,
            manager=sec, start_date=project.start_date, end_date=project.end_date,
            budget_lines=[{"id": venue.pk, "name": "场地", "amount": "400"}],
        )  # fmt: skip
    assert "¥800.00" in error.value.error_dict["budget_lines-0-amount"][0].message
