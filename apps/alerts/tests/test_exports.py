"""X-3 (every list exports to Excel) for the three-colour warning: the key-person list and the dashboard."""

import pytest

from apps.alerts import services
from apps.alerts.choices import Colour
from apps.clients.services import do_register_client
from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_rows, export_through_http, fresh_client

from .conftest import phq9


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


@pytest.fixture
def warnings(tree, district_admin, counsellor_a):
    """赵 (C1, red, counsellor_a), 钱 (C2, reported), 孙 (C3 of the sibling street, reported)."""
    made = {}
    for surname, unit in (("赵", tree.c1), ("钱", tree.c2), ("孙", tree.c3)):
        client = do_register_client(actor=None, unit=unit, data={"name": f"{surname}导出"})
        made[surname] = services.do_tag_key_person(
            actor=district_admin, client=client, proposed_colour=Colour.YELLOW, reason="排查发现情绪低落"
        )
    services.do_set_colour(
        actor=district_admin,
        warning=made["赵"],
        result=phq9(made["赵"].client, 24, item9=3),
        counsellor=counsellor_a,
        colour=Colour.RED,
        reason="危急条目阳性",
    )
    return made


def names(rows):
    return {row[1] for row in rows}


def test_warning_export_is_scoped_masked_and_filtered_like_the_list(tree, street_manager, counsellor_a, warnings):
    """X-3, S-WARN-1: the key-person export holds the street's warnings only, names masked, filtered as the list."""
    http = fresh_client(street_manager)
    for filters in (
        {},
        {"colour": "3"},
        {"flag": "pending"},
        {"unit": str(tree.c2.pk)},
        {"closed": "1"},
        {"colour": "junk"},
    ):
        exported = names(export_rows("alerts_warnings", street_manager, **filters))
        page = http.get("/alerts/warnings/", filters).content.decode()
        for masked in ("赵**", "钱**", "孙**"):
            assert (masked in exported) == (masked in page), (filters, masked)
    assert names(export_rows("alerts_warnings", street_manager)) == {"赵**", "钱**"}
    assert names(export_rows("alerts_warnings", street_manager, colour="3")) == {"赵**"}
    assert names(export_rows("alerts_warnings", street_manager, flag="pending")) == {"钱**"}
    assert names(export_rows("alerts_warnings", counsellor_a, mine="1")) == {"赵**"}
    assert export_rows("alerts_warnings", street_manager, unit=str(tree.c3.pk)) == []  # out of scope: the page 404s
    assert names(export_rows("alerts_warnings", street_manager, unit="x")) == {"赵**", "钱**"}  # junk ignored
    red = export_rows("alerts_warnings", street_manager, colour="3")[0]
    assert red[3] == "红色" and red[5] == "建档跟踪中" and red[7] == "咨询师甲"
    assert len(red[9]) == 10 and red[9][4] == "-"  # feedback due as YYYY-MM-DD


def test_dashboard_export_counts_the_subtree_only(tree, street_manager, evaluator, warnings):
    """X-3, S-WARN: the dashboard table per child unit; a unit outside the scope gives nothing."""
    rows = {row[0]: row for row in export_rows("alerts_dashboard", street_manager)}
    assert set(rows) == {"一社区室", "二社区室", "合计"}
    columns = get_dataset("alerts_dashboard").columns
    assert rows["合计"][columns.index("红色")] == 1 and rows["合计"][columns.index("待定色")] == 1
    assert export_rows("alerts_dashboard", street_manager, unit=str(tree.s2.pk)) == []
    district = {row[0]: row for row in export_rows("alerts_dashboard", evaluator)}
    assert district["一街道站"][columns.index("合计")] == "<5"  # small cells suppressed as on the page


def test_warning_list_shows_export_buttons_to_managers_only(street_manager, counsellor_a, warnings):
    """X-3, S-WARN-1: a street manager sees the export buttons with the list's filters; a counsellor does not."""
    page = fresh_client(street_manager).get("/alerts/warnings/?colour=3").content.decode()
    assert 'data-testid="export-alerts_warnings-xlsx"' in page
    assert "/exports/new/csv/alerts_warnings/?colour=3" in page
    assert "export-alerts" not in fresh_client(counsellor_a).get("/alerts/warnings/").content.decode()
    assert 'data-testid="export-alerts_dashboard-xlsx"' in fresh_client(street_manager).get("/alerts/").content.decode()


def test_warning_export_end_to_end(street_manager, warnings, django_capture_on_commit_callbacks):
    """X-3, S-WARN-1: the key-person list arrives as an encrypted xlsx with masked names."""
    rows = export_through_http(
        fresh_client(street_manager),
        django_capture_on_commit_callbacks,
        "alerts_warnings",
        "?flag=pending&after=3",
        reason="重点人员月度核对",
    )
    assert ExportJob.objects.get().row_count == 1
    assert rows[0] == get_dataset("alerts_warnings").columns
    assert [row[1] for row in rows[1:]] == ["钱**"]
    assert not any("钱导出" in str(cell) for row in rows for cell in row)
