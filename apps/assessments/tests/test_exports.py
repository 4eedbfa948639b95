"""X-3 (every list exports to Excel) for the assessment lists: results, one client's results, scales."""

import datetime as dt

import pytest

from apps.assessments import services
from apps.clients.services import do_register_client
from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_rows, export_through_http, fresh_client
from conftest import make_user

from .conftest import sds_definition


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


@pytest.fixture
def results(tree, counsellor_a, counsellor_b, client_a, client_b):
    """张测评 (C1): GAD-7 none; 李测评 (C2): PHQ-9 with item 9 positive; 王外站 (C3, sibling street): PHQ-9."""
    services.do_record_result(actor=counsellor_a, client=client_a, scale_code="GAD-7", answers=[0] * 7)
    services.do_record_result(actor=counsellor_b, client=client_b, scale_code="PHQ-9", answers=[0] * 8 + [1])
    client_c = do_register_client(actor=None, unit=tree.c3, data={"name": "王外站", "birth_date": dt.date(1980, 1, 1)})
    counsellor_c = make_user("counsellor_c3", tree.c3, "counsellor")
    services.do_record_result(actor=counsellor_c, client=client_c, scale_code="PHQ-9", answers=[3] * 9)
    return client_a, client_b, client_c


def test_results_export_is_scoped_and_filtered_like_the_list(street_manager, results):
    """X-3, S-WARN-1: the results export holds the street's results only, filtered as the list filters."""
    http = fresh_client(street_manager)
    names = ("张测评", "李测评", "王外站")
    for filters in ({}, {"critical": "1"}, {"scale": "GAD-7"}, {"level": "none"}, {"level": "junk", "scale": ""}):
        exported = {row[1] for row in export_rows("assessments_results", street_manager, **filters)}
        page = http.get("/assessments/", filters).content.decode()
        for name in names:
            assert (name in exported) == (name in page), (filters, name)
    assert {row[1] for row in export_rows("assessments_results", street_manager)} == {"张测评", "李测评"}
    assert {row[1] for row in export_rows("assessments_results", street_manager, critical="1")} == {"李测评"}
    row = export_rows("assessments_results", street_manager, scale="GAD-7")[0]
    assert row[3:5] == ("GAD-7", "v1") and row[5] == 0.0 and row[8] == "否" and row[9] == "纸质录入"
    assert row[10] == "咨询师甲" and len(row[0]) == 16  # YYYY-MM-DD HH:MM


def test_client_results_export_needs_the_client_in_scope(street_manager, counsellor_a, results):
    """X-3, S-WARN-1: one client's results; a client of a sibling unit or junk id gives nothing."""
    client_a, client_b, client_c = results
    assert [row[1] for row in export_rows("assessments_client_results", street_manager, client=str(client_a.pk))] == [
        "张测评"
    ]
    assert export_rows("assessments_client_results", counsellor_a, client=str(client_b.pk)) == []  # sibling C2
    assert export_rows("assessments_client_results", street_manager, client=str(client_c.pk)) == []  # other street
    assert export_rows("assessments_client_results", street_manager, client="x1") == []
    assert export_rows("assessments_client_results", street_manager) == []


def test_scales_export_hides_other_tenants_imports(tree, district_admin, outsider):
    """X-3, S-WARN-6: the scale list export shows shipped scales and the tenant's own imports only."""
    services.do_import_scale(actor=outsider, data=sds_definition(), tenant=tree.other)
    own = {row[0] for row in export_rows("assessments_scales", district_admin)}
    other = {row[0]: row for row in export_rows("assessments_scales", outsider)}
    assert "PHQ-9" in own and "SDS" not in own
    assert other["SDS"][2] == "本体系导入" and other["PHQ-9"][2] == "系统内置（免费量表）"


def test_result_list_shows_export_buttons_to_managers_only(street_manager, counsellor_a, results):
    """X-3, S-WARN-1: the list's buttons show for a grant with export permission, with the list's filters."""
    page = fresh_client(street_manager).get("/assessments/?critical=1&after=99").content.decode()
    assert 'data-testid="export-assessments_results-xlsx"' in page
    assert "/exports/new/xlsx/assessments_results/?critical=1" in page
    assert "export-assessments" not in fresh_client(counsellor_a).get("/assessments/").content.decode()
    client_a = results[0]
    page = fresh_client(street_manager).get(f"/assessments/clients/{client_a.pk}/").content.decode()
    assert f"/exports/new/xlsx/assessments_client_results/?client={client_a.pk}" in page


def test_results_export_end_to_end(street_manager, results, django_capture_on_commit_callbacks):
    """X-3, S-WARN-1: the results list arrives as an encrypted xlsx holding the filtered, scoped rows."""
    rows = export_through_http(
        fresh_client(street_manager),
        django_capture_on_commit_callbacks,
        "assessments_results",
        "?critical=1",
        reason="季度测评情况报送",
    )
    assert ExportJob.objects.get().filters == {"critical": "1"} and ExportJob.objects.get().row_count == 1
    assert rows[0] == get_dataset("assessments_results").columns
    assert [row[1] for row in rows[1:]] == ["李测评"]
    assert rows[1][2] == "二社区室" and rows[1][8] == "是"
