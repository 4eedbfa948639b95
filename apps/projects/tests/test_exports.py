"""X-3 (every list exports to Excel) for association projects (H-PROJ-1): projects, expenses, progress reports."""

import datetime as dt

import pytest

from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_rows, export_through_http, fresh_client
from apps.projects import selectors, services
from conftest import make_user

from .test_projects import Assoc

TODAY = selectors.today()


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


def project(actor, unit, name, kind, *, run=False, sponsor=""):
    made = services.do_create_project(
        actor=actor, unit=unit, name=name, kind=kind, sponsor=sponsor, manager=actor,
        start_date=TODAY - dt.timedelta(days=30), end_date=TODAY + dt.timedelta(days=300),
        budget_lines=(("劳务费", "1000"),),
    )  # fmt: skip
    if run:
        made = services.do_advance_project(actor=actor, project=made, version=made.version)
    return made


class World:
    def __init__(self):
        self.assoc, self.other = Assoc(), Assoc("X")
        self.sec = make_user("p_sec", self.assoc.root, "association_secretariat", full_name="秘书长孙")
        self.board = make_user("p_board", self.assoc.root, "board_member", full_name="理事王")
        self.other_sec = make_user("p_osec", self.other.root, "association_secretariat", full_name="外会秘书长")
        self.gov = project(self.sec, self.assoc.dept, "本会政府项目", "government", run=True, sponsor="示范市民政局")
        self.own = project(self.sec, self.assoc.dept, "本会自主项目", "own")
        self.foreign = project(self.other_sec, self.other.dept, "外会项目", "social", run=True, sponsor="外市基金会")
        for actor, target, amount in ((self.sec, self.gov, "300.25"), (self.other_sec, self.foreign, "80")):
            services.do_record_expense(
                actor=actor, project=target, line=target.lines.get(), amount=amount,
                spent_on=TODAY - dt.timedelta(days=1), description="讲座劳务",
            )  # fmt: skip
            services.do_schedule_progress_report(
                actor=actor,
                project=target,
                recipient="board",
                period="第一季度",
                due_date=TODAY + dt.timedelta(days=10),
            )


@pytest.fixture
def world(db):
    return World()


def test_project_export_scoped_and_filtered_like_the_list(world):
    """X-3, H-PROJ-1: the association's projects only, with budget and spending as numbers; filters as the list."""
    http = fresh_client(world.sec)
    names = ("本会政府项目", "本会自主项目", "外会项目")
    for filters in ({}, {"kind": "own"}, {"status": "running"}, {"q": "政府"}, {"kind": "junk", "status": "x"}):
        exported = {row[0] for row in export_rows("projects_projects", world.sec, **filters)}
        page = http.get("/projects/", filters).content.decode()
        for name in names:
            assert (name in exported) == (name in page), (filters, name)
    assert {row[0] for row in export_rows("projects_projects", world.sec)} == {"本会政府项目", "本会自主项目"}
    row = export_rows("projects_projects", world.sec, q="政府")[0]
    assert row[1:4] == ("政府项目", "示范市民政局", "项目运营部") and row[7:] == (1000.0, 300.25, "实施中")


def test_expense_export_all_or_one_project_in_scope(world):
    """X-3, H-PROJ-1: expenses in scope; ``project=`` narrows to one; another association's project gives nothing."""
    rows = export_rows("projects_expenses", world.sec)
    assert [(r[0], r[2], r[4], r[5], r[6]) for r in rows] == [("本会政府项目", "劳务费", 300.25, "已入账", "否")]
    assert len(export_rows("projects_expenses", world.sec, project=str(world.gov.pk))) == 1
    assert export_rows("projects_expenses", world.sec, project=str(world.own.pk)) == []
    assert export_rows("projects_expenses", world.sec, project=str(world.foreign.pk)) == []
    assert export_rows("projects_expenses", world.sec, project="abc") == []


def test_progress_report_export_follows_the_state_filter(world):
    """X-3, H-PROJ-1: progress reports of the association; open by default as on the list."""
    assert [(r[0], r[2], r[4]) for r in export_rows("projects_reports", world.sec)] == [
        ("本会政府项目", "理事会", "待报送")
    ]
    assert export_rows("projects_reports", world.sec, state="submitted") == []
    assert export_rows("projects_reports", world.sec, state="overdue") == []
    assert len(export_rows("projects_reports", world.sec, state="junk")) == 1  # unknown state: no filter, as the list


def test_project_list_shows_export_buttons_to_the_secretariat_only(world):
    """X-3, H-PROJ-1: the secretariat sees the buttons (with filters); a board member without export right does not."""
    page = fresh_client(world.sec).get("/projects/?kind=own").content.decode()
    assert "/exports/new/xlsx/projects_projects/?kind=own" in page
    assert "export-projects" not in fresh_client(world.board).get("/projects/").content.decode()
    detail = fresh_client(world.sec).get(f"/projects/{world.gov.pk}/").content.decode()
    assert f"/exports/new/xlsx/projects_expenses/?project={world.gov.pk}" in detail
    reports = fresh_client(world.sec).get("/projects/reports/?state=open").content.decode()
    assert "/exports/new/xlsx/projects_reports/?state=open" in reports


def test_project_export_end_to_end(world, django_capture_on_commit_callbacks):
    """X-3, H-PROJ-1: the project list arrives as an encrypted xlsx with money as numbers."""
    rows = export_through_http(
        fresh_client(world.sec),
        django_capture_on_commit_callbacks,
        "projects_projects",
        "?status=running",
        reason="向理事会报送项目统计",
    )
    assert ExportJob.objects.get().row_count == 1
    assert rows[0] == get_dataset("projects_projects").columns
    assert [(row[0], row[7], row[8]) for row in rows[1:]] == [("本会政府项目", 1000, 300.25)]
