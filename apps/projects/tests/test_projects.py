"""Association projects (H-PROJ-1): budget, expenses, milestones, reports, quality, documents, acceptance."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client as HttpClient

from apps.audit.models import AuditEntry
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit
from apps.projects import selectors, services
from apps.projects.choices import ProjectStatus
from apps.projects.demo import seed_demo_projects
from apps.projects.models import BudgetLine, Document, Expense, Project
from conftest import make_user

TODAY = selectors.today()


class Assoc:
    def __init__(self, suffix=""):
        self.root = do_create_unit(
            actor=None, parent=None, kind=UnitKind.ASSOCIATION, name=f"项目测试协会{suffix}", code=f"PA{suffix}"
        )
        self.dept = do_create_unit(
            actor=None, parent=self.root, kind=UnitKind.DEPARTMENT, name=f"项目运营部{suffix}", code=f"PA{suffix}-D"
        )
        self.committee = do_create_unit(
            actor=None, parent=self.root, kind=UnitKind.COMMITTEE, name=f"青少年专委会{suffix}", code=f"PA{suffix}-C"
        )


@pytest.fixture
def assoc(db):
    return Assoc()


@pytest.fixture
def other(db):
    return Assoc("X")


@pytest.fixture
def sec(assoc):
    return make_user("p_sec", assoc.root, "association_secretariat", full_name="秘书长孙")


@pytest.fixture
def head(assoc):
    return make_user("p_head", assoc.committee, "committee_head", full_name="专委会主任赵")


@pytest.fixture
def board(assoc):
    return make_user("p_board", assoc.root, "board_member", full_name="理事王")


@pytest.fixture
def other_sec(other):
    return make_user("p_other_sec", other.root, "association_secretariat", full_name="外会秘书长")


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    settings.PROJECT_DOCUMENTS_DIR = str(tmp_path / "private")
    return tmp_path / "private"


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def new_project(
    actor, unit, manager, *, kind="government", sponsor="示范市民政局", lines=(("劳务费", "1000"), ("物料", "500"))
):
    return services.do_create_project(
        actor=actor, unit=unit, name="社区心理服务", kind=kind, sponsor=sponsor, manager=manager,
        start_date=TODAY - dt.timedelta(days=30), end_date=TODAY + dt.timedelta(days=300), budget_lines=lines,
    )  # fmt: skip


def running(actor, unit, manager, **kw):
    project = new_project(actor, unit, manager, **kw)
    return services.do_advance_project(actor=actor, project=project, version=project.version)


def line(project, name="劳务费"):
    return project.lines.get(name=name)


def spend(actor, project, amount, name="劳务费", **kw):
    return services.do_record_expense(
        actor=actor, project=project, line=line(project, name), amount=amount, spent_on=TODAY, description="讲座劳务",
        **kw,
    )  # fmt: skip


# --- summary ------------------------------------------------------------------------------------


def test_project_summary_counts_and_money(assoc, other, sec, other_sec):
    """H-PROJ-1: statistics by status and kind, budget against spending, one association only."""
    empty = selectors.project_summary(assoc.root)
    assert empty["total"] == 0 and empty["by_status"] == dict.fromkeys(["planned", "running", "closing", "accepted"], 0)
    assert empty["budget_total"] == Decimal("0.00")
    new_project(sec, assoc.dept, sec, kind="own", sponsor="")
    p = running(sec, assoc.committee, sec, kind="social", sponsor="基金会")
    spend(sec, p, "300.50")
    new_project(other_sec, other.dept, other_sec)
    summary = selectors.project_summary(assoc.root)
    assert summary["total"] == 2
    assert summary["by_status"]["planned"] == 1 and summary["by_status"]["running"] == 1
    assert summary["by_kind"] == {"government": 0, "social": 1, "own": 1}
    assert summary["budget_total"] == Decimal("3000.00") and summary["spent_total"] == Decimal("300.50")
    assert summary["remaining"] == Decimal("2699.50")
    assert selectors.project_summary(assoc.committee)["total"] == 1


# --- creating and editing -----------------------------------------------------------------------


def test_create_project_rules_and_nothing_written_on_bad_input(assoc, other, sec, head, board, other_sec):
    """H-PROJ-1: owned by a department or committee; sponsor for government/social; dates; people of the association."""
    with pytest.raises(ValidationError, match="主办方"):
        new_project(sec, assoc.dept, sec, sponsor="")
    with pytest.raises(ValidationError, match="本协会"):
        new_project(sec, assoc.dept, other_sec)
    with pytest.raises(ValidationError, match="重复"):
        new_project(sec, assoc.dept, sec, lines=(("劳务费", "1"), ("劳务费", "2")))
    with pytest.raises(ValidationError, match="两位小数"):
        new_project(sec, assoc.dept, sec, lines=(("劳务费", "1.005"),))
    with pytest.raises(ValidationError, match="结束日期"):
        services.do_create_project(
            actor=sec,
            unit=assoc.dept,
            name="x",
            kind="own",
            manager=sec,
            start_date=TODAY,
            end_date=TODAY - dt.timedelta(1),
        )
    with pytest.raises(ValidationError, match="本部门"):
        new_project(head, assoc.dept, head)  # a committee head works in their committee only
    with pytest.raises(ValidationError, match="本部门"):
        new_project(board, assoc.dept, board)  # view-only
    assert not Project.objects.exists() and not BudgetLine.objects.exists()
    project = new_project(head, assoc.committee, head)
    assert project.unit_path == assoc.committee.path and project.lines.count() == 2
    assert AuditEntry.objects.filter(object_type="projects.project", object_id=str(project.pk)).exists()


def test_update_with_stale_version_is_refused(assoc, sec):
    """H-PROJ-1: edits use optimistic locking."""
    project = new_project(sec, assoc.dept, sec)
    edit = dict(name="新名称", sponsor="民政局", manager=sec, start_date=project.start_date, end_date=project.end_date)
    services.do_update_project(actor=sec, project=project, version=1, **edit)
    with pytest.raises(ValidationError) as error:
        services.do_update_project(actor=sec, project=project, version=1, **{**edit, "name": "覆盖"})
    assert error.value.code == "stale"
    assert Project.objects.get().name == "新名称"


def test_status_moves(assoc, sec):
    """H-PROJ-1: planned → running (needs a budget) → closing; no further move without acceptance."""
    bare = new_project(sec, assoc.dept, sec, lines=())
    with pytest.raises(ValidationError, match="预算"):
        services.do_advance_project(actor=sec, project=bare, version=bare.version)
    project = running(sec, assoc.dept, sec)
    assert project.status == ProjectStatus.RUNNING
    project = services.do_advance_project(actor=sec, project=project, version=project.version)
    assert project.status == ProjectStatus.CLOSING
    with pytest.raises(ValidationError, match="不能再推进"):
        services.do_advance_project(actor=sec, project=project, version=project.version)


# --- expenses -----------------------------------------------------------------------------------


def test_expense_within_budget_and_over_budget_refused(assoc, sec, head):
    """H-PROJ-1: an expense beyond the line's available budget is refused without a reason, on the reason field."""
    project = running(head, assoc.committee, head)
    spend(head, project, "600")
    with pytest.raises(ValidationError) as error:
        spend(head, project, "400.01")
    assert error.value.error_dict["approval_reason"][0].code == "over_budget"
    assert "可用 ¥400.00" in error.value.error_dict["approval_reason"][0].message
    assert Expense.objects.count() == 1
    spend(head, project, "400.00")  # exactly the rest is fine
    assert selectors.project_summary(assoc.root)["spent_total"] == Decimal("1000.00")


def test_over_budget_approval_path(assoc, sec, head):
    """H-PROJ-1: an over-budget expense with a reason waits as pending; a second person's approval books it."""
    project = running(head, assoc.committee, head)
    with pytest.raises(ValidationError) as error:
        spend(sec, project, "1200")
    assert error.value.error_dict["approval_reason"][0].code == "over_budget"
    expense = spend(head, project, "1200", approval_reason="主办方要求增加两场讲座")
    assert expense.over_budget and expense.status == "pending" and expense.decided_by is None
    assert expense.approval_reason == "主办方要求增加两场讲座"
    expense = services.do_decide_expense(actor=sec, expense=expense, decision="approve", note="同意")
    assert expense.status == "booked" and expense.decided_by == sec
    within = spend(sec, project, "100", name="物料", approval_reason="无需理由")
    assert not within.over_budget and within.decided_by is None and within.approval_reason == ""


def test_expense_input_rules(assoc, sec):
    """H-PROJ-1: only running or closing projects; no future date; the line must belong to the project."""
    planned = new_project(sec, assoc.dept, sec)
    with pytest.raises(ValidationError, match="实施中"):
        spend(sec, planned, "10")
    project = running(sec, assoc.dept, sec)
    with pytest.raises(ValidationError, match="晚于今天"):
        services.do_record_expense(
            actor=sec,
            project=project,
            line=line(project),
            amount="10",
            spent_on=TODAY + dt.timedelta(1),
            description="x",
        )
    with pytest.raises(ValidationError, match="不属于"):
        services.do_record_expense(
            actor=sec, project=project, line=line(planned), amount="10", spent_on=TODAY, description="x"
        )
    for bad in ("0", "-5", "abc", "1e3", "NaN"):
        with pytest.raises(ValidationError):
            spend(sec, project, bad)
    assert not Expense.objects.exists()


def test_budget_line_cannot_drop_below_spent(assoc, sec):
    """H-PROJ-1: a line's budget may be changed, but not below what is already spent on it."""
    project = running(sec, assoc.dept, sec)
    spend(sec, project, "700")
    with pytest.raises(ValidationError, match="不能低于"):
        services.do_change_budget_line(actor=sec, line=line(project), version=1, amount="699.99")
    row = services.do_change_budget_line(actor=sec, line=line(project), version=1, amount="700")
    assert row.amount == Decimal("700.00") and row.version == 2
    added = services.do_add_budget_line(actor=sec, project=project, name="交通", amount="300")
    assert added.amount == Decimal("300.00")
    with pytest.raises(ValidationError, match="已存在"):
        services.do_add_budget_line(actor=sec, project=project, name="交通", amount="1")


@pytest.mark.django_db(transaction=True)
def test_concurrent_expenses_cannot_overspend(monkeypatch):
    """H-PROJ-1: two concurrent expenses of 600 on a 1,000 line — the row lock lets exactly one through (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE) are tested on PostgreSQL; SQLite serialises writers anyway")
    a = Assoc("T")
    manager = make_user("p_head_t", a.committee, "committee_head", full_name="主任")
    project = running(manager, a.committee, manager)
    original = services.spent_on_line

    def slow_spent(line_row):
        value = original(line_row)
        time.sleep(0.5)  # widen the window between reading the spent total and inserting the expense
        return value

    monkeypatch.setattr(services, "spent_on_line", slow_spent)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        from django.db import connections

        try:
            barrier.wait()
            results.append(spend(manager, Project.objects.get(pk=project.pk), "600"))
        except ValidationError as error:
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Expense) for r in results) == 1
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert [r.error_dict["approval_reason"][0].code for r in refused] == ["over_budget"]
    assert Expense.objects.filter(project=project).count() == 1


# --- milestones, reports, quality ---------------------------------------------------------------


def test_milestones(assoc, sec):
    """H-PROJ-1: milestones are marked done once, never with a future date."""
    project = running(sec, assoc.dept, sec)
    m = services.do_add_milestone(actor=sec, project=project, title="启动会", due_date=TODAY)
    with pytest.raises(ValidationError, match="晚于今天"):
        services.do_complete_milestone(actor=sec, milestone=m, done_on=TODAY + dt.timedelta(1))
    services.do_complete_milestone(actor=sec, milestone=m, done_on=TODAY, note="已开")
    with pytest.raises(ValidationError, match="已经完成"):
        services.do_complete_milestone(actor=sec, milestone=m, done_on=TODAY)


def test_progress_reports_overdue_and_submitted(assoc, sec, board):
    """H-PROJ-1: periodic progress reports to the board or sponsor — due, overdue, submitted once."""
    own = running(sec, assoc.dept, sec, kind="own", sponsor="")
    with pytest.raises(ValidationError, match="没有主办方"):
        services.do_schedule_progress_report(actor=sec, project=own, recipient="sponsor", period="Q1", due_date=TODAY)
    project = running(sec, assoc.dept, sec)
    late = services.do_schedule_progress_report(
        actor=sec, project=project, recipient="sponsor", period="第一季度", due_date=TODAY - dt.timedelta(1)
    )
    services.do_schedule_progress_report(
        actor=sec, project=project, recipient="board", period="第一季度", due_date=TODAY + dt.timedelta(5)
    )
    with pytest.raises(ValidationError, match="安排过"):
        services.do_schedule_progress_report(
            actor=sec, project=project, recipient="sponsor", period="第一季度", due_date=TODAY
        )
    assert list(selectors.progress_reports(board, state="overdue")) == [late]
    assert selectors.project_summary(assoc.root)["overdue_reports"] == 1
    services.do_submit_progress_report(actor=sec, report=late, content="进展顺利")
    assert not selectors.progress_reports(board, state="overdue").exists()
    with pytest.raises(ValidationError, match="已经报送"):
        services.do_submit_progress_report(actor=sec, report=late, content="再报")


def test_quality_check(assoc, sec, other_sec):
    """H-PROJ-1: a quality check records date, checker (of the association), findings and result."""
    project = running(sec, assoc.dept, sec)
    with pytest.raises(ValidationError, match="本协会"):
        services.do_record_quality_check(
            actor=sec, project=project, checked_on=TODAY, checker=other_sec, findings="x", result="pass"
        )
    with pytest.raises(ValidationError, match="结论"):
        services.do_record_quality_check(
            actor=sec, project=project, checked_on=TODAY, checker=sec, findings="x", result="great"
        )
    check = services.do_record_quality_check(
        actor=sec, project=project, checked_on=TODAY, checker=sec, findings="签到表缺两场", result="improve"
    )
    assert check.checker == sec and project.checks.count() == 1


# --- documents ----------------------------------------------------------------------------------


def test_documents_are_private_and_permission_checked(assoc, sec, board, other_sec, private_dir, settings):
    """H-PROJ-1: uploaded files live outside MEDIA_ROOT under random names; download checks scope."""
    project = running(sec, assoc.dept, sec)
    with pytest.raises(ValidationError, match="只能上传"):
        services.do_upload_document(
            actor=sec, project=project, title="脚本", upload=SimpleUploadedFile("x.html", b"<script>")
        )
    document = services.do_upload_document(
        actor=sec, project=project, title="项目合同", upload=SimpleUploadedFile("合同.pdf", b"%PDF-1.4 test")
    )
    stored = private_dir / document.file.name
    assert stored.exists() and "合同" not in document.file.name
    assert str(settings.MEDIA_ROOT) not in str(stored)
    response = browser(board).get(f"/projects/documents/{document.pk}/")
    assert response.status_code == 200 and response.content == b"%PDF-1.4 test"
    assert response["Content-Disposition"].startswith("attachment")
    assert browser(other_sec).get(f"/projects/documents/{document.pk}/").status_code == 404
    assert AuditEntry.objects.filter(action="read_sensitive", object_type="projects.document").count() == 1


def test_upload_through_the_page(assoc, sec):
    """H-PROJ-1: the archive form on the project page uploads a file."""
    project = running(sec, assoc.dept, sec)
    upload = SimpleUploadedFile("方案.docx", b"PK\x03\x04 docx")
    response = browser(sec).post(f"/projects/{project.pk}/documents/", {"title": "实施方案", "upload": upload})
    assert response.status_code == 302
    assert Document.objects.get().original_name == "方案.docx"


# --- final accounts and acceptance --------------------------------------------------------------


def test_final_accounts_and_acceptance(assoc, sec, head):
    """H-PROJ-1: acceptance refused with open milestones or without final accounts; totals from expenses."""
    project = running(head, assoc.committee, head)
    spend(head, project, "800")
    over = spend(head, project, "1300", approval_reason="增加场次")
    services.do_decide_expense(actor=sec, expense=over, decision="approve", note="同意")
    m = services.do_add_milestone(actor=head, project=project, title="结项汇报", due_date=TODAY)
    with pytest.raises(ValidationError, match="结项中"):
        services.do_draw_final_accounts(actor=head, project=project, version=project.version)
    project = services.do_advance_project(actor=head, project=project, version=project.version)
    with pytest.raises(ValidationError) as error:
        services.do_accept_project(actor=sec, project=project, version=project.version, note="验收")
    assert error.value.code == "open_milestones" and "结项汇报" in error.value.messages[0]
    services.do_complete_milestone(actor=head, milestone=m, done_on=TODAY)
    with pytest.raises(ValidationError) as error:
        services.do_accept_project(actor=sec, project=project, version=project.version, note="验收")
    assert error.value.code == "no_final_accounts"
    project = services.do_draw_final_accounts(actor=head, project=project, version=project.version, note="超支 600 元")
    assert project.final_budget_total == Decimal("1500.00") and project.final_spent_total == Decimal("2100.00")
    with pytest.raises(ValidationError, match="决算已编制"):
        spend(sec, project, "1", name="物料")
    with pytest.raises(ValidationError, match="秘书处"):
        services.do_accept_project(actor=head, project=project, version=project.version, note="自己验收")
    project = services.do_accept_project(actor=sec, project=project, version=project.version, note="资料齐全")
    assert project.status == ProjectStatus.ACCEPTED and project.accepted_by == sec
    with pytest.raises(ValidationError, match="已验收"):
        services.do_add_milestone(actor=sec, project=project, title="追加", due_date=TODAY)


# --- pages and API ------------------------------------------------------------------------------


def test_other_association_gets_404_and_empty_lists(assoc, other, sec, other_sec):
    """S-ORG-2, H-PROJ-1: another association's secretariat sees none of our projects."""
    project = running(sec, assoc.dept, sec)
    http = browser(other_sec)
    assert http.get(f"/projects/{project.pk}/").status_code == 404
    assert http.post(f"/projects/{project.pk}/accept/", {"version": 1, "note": "x"}).status_code == 404
    assert "社区心理服务" not in http.get("/projects/").content.decode()
    assert http.get(f"/api/projects/projects/{project.pk}/").status_code == 404
    assert http.get("/api/projects/projects/summary/").json()["total"] == 0


def test_pages_flow(assoc, sec, head):
    """H-PROJ-1: create through the form (budget table), see the detail page, an over-budget form error."""
    http = browser(head)
    response = http.post(
        "/projects/new/",
        {"unit": assoc.committee.pk, "name": "校园讲座", "kind": "social", "sponsor": "基金会", "manager": head.pk,
         "start_date": "2026-01-01", "end_date": "2026-12-31", "budget_lines-TOTAL_FORMS": "3",
         "budget_lines-INITIAL_FORMS": "0", "budget_lines-0-name": "专家劳务费", "budget_lines-0-amount": "1000",
         "budget_lines-1-name": "物料", "budget_lines-1-amount": "200.50"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    project = Project.objects.get()
    assert [(x.name, x.amount) for x in project.lines.order_by("id")] == [
        ("专家劳务费", 1000),
        ("物料", Decimal("200.50")),
    ]
    http.post(f"/projects/{project.pk}/advance/", {"version": project.version})
    page = http.post(
        f"/projects/{project.pk}/expenses/new/",
        {"line": line(project, "物料").pk, "amount": "300", "spent_on": TODAY.isoformat(), "description": "印刷"},
    ).content.decode()
    assert "提交秘书处审批" in page and "invalid-feedback" in page and not Expense.objects.exists()
    detail = http.get(f"/projects/{project.pk}/").content.decode()
    assert "校园讲座" in detail and "专家劳务费" in detail
    stats = browser(sec).get("/projects/statistics/").content.decode()
    assert "项目总数" in stats


def test_list_query_count_is_fixed(assoc, sec, django_assert_max_num_queries):
    """H-PROJ-1: the keyset-paginated project list runs a fixed number of queries."""
    for _ in range(3):
        spend(sec, running(sec, assoc.dept, sec), "10")
    http = browser(sec)
    http.get("/projects/")
    with django_assert_max_num_queries(14) as small:
        http.get("/projects/")
    for _ in range(10):
        spend(sec, running(sec, assoc.dept, sec), "10")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert http.get("/projects/?kind=government").status_code == 200


def test_api_create_and_over_budget(assoc, sec, head):
    """H-PROJ-1: the API creates projects and applies the same over-budget rule (400 in Chinese)."""
    http = browser(head)
    body = {
        "unit": assoc.committee.pk, "name": "接口项目", "kind": "own", "manager": head.pk, "start_date": "2026-01-01",
        "end_date": "2026-12-31", "budget_lines": [{"name": "劳务费", "amount": "100"}],
    }  # fmt: skip
    response = http.post("/api/projects/projects/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    project = Project.objects.get()
    services.do_advance_project(actor=head, project=project, version=project.version)
    refused = http.post(
        f"/api/projects/projects/{project.pk}/expenses/",
        {"line": line(project).pk, "amount": "100.01", "spent_on": TODAY.isoformat(), "description": "讲座"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "秘书处" in refused.content.decode()
    summary = http.get("/api/projects/projects/summary/").json()
    assert summary["total"] == 1 and summary["budget_total"] == "100.00"


def test_demo_seed(db):
    """H-PROJ-1: 12 demo projects — four of each kind, one per stage — with over-budget expenses: one approved by
    the secretariat after the committee head entered it, one awaiting the secretariat."""
    from django.contrib.auth.hashers import make_password

    from apps.accounts.models import Assignment, Role, User
    from apps.core.management.commands.seed_demo import DEMO_LOGINS, build_demo_units

    units = build_demo_units()
    users = {}
    for username, full_name, role, unit_key in DEMO_LOGINS:
        if unit_key != "association" and not unit_key.startswith(("dept-", "committee-")):
            continue
        users[username] = User.objects.create(
            username=username, full_name=full_name, unit=units[unit_key], password=make_password(None)
        )
        Assignment.objects.create(user=users[username], unit=units[unit_key], role=Role.objects.get(code=role))
    assert seed_demo_projects(units, users) == 12
    assert seed_demo_projects(units, users) == 0
    summary = selectors.project_summary(units["association"])
    assert summary["by_status"] == {"planned": 3, "running": 3, "closing": 3, "accepted": 3}
    assert summary["by_kind"] == {"government": 4, "social": 4, "own": 4}
    over = Expense.objects.filter(over_budget=True)
    assert sorted(over.values_list("status", flat=True)) == ["booked", "pending"]
    assert all(e.recorded_by_id != e.decided_by_id for e in over)
    assert summary["overdue_reports"] == 3
