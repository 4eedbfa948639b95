"""Information aggregation (S-CLIENT-5) and the de-identified case export (S-PRIN-4)."""

import io

import pytest
import pyzipper
from django.test import Client as HttpClient
from huey.contrib.djhuey import HUEY
from openpyxl import load_workbook

from apps.casework.models import Case
from apps.clients.models import ServiceTargetCategory
from apps.clients.services import do_register_client
from apps.exports import services as exports
from apps.exports.models import ExportJob
from apps.reports.selectors import summary_tables


def register(unit, n, category="unemployed", **data):
    cat = ServiceTargetCategory.objects.get(code=category)
    return [
        do_register_client(actor=None, unit=unit, data={"name": f"人{i}", **data}, categories=[cat]) for i in range(n)
    ]


def test_summary_by_unit_with_small_cells_suppressed(tree, street_manager, district_admin):
    """S-CLIENT-5: counts by unit and type; cells of 1–4 people below district level show as <5."""
    register(tree.c1, 6)
    register(tree.c2, 2)
    register(tree.c3, 7)  # another street: never counted for the street manager
    table = summary_tables(street_manager)[0]
    column = table.columns.index("失业、待业人员")
    rows = dict(table.rows)
    assert rows["一社区室"][column] == 6 and rows["二社区室"][column] == "<5"
    assert "三社区室" not in rows
    district_rows = dict(summary_tables(district_admin)[0].rows)
    assert district_rows["一街道站"][column] == 8 and district_rows["二街道站"][column] == 7


def test_case_tables_count_states(tree, street_manager):
    clients = register(tree.c1, 5)
    for client in clients:
        Case.objects.create(client=client, unit=tree.c1, unit_path=tree.c1.path, state="active")
    tables = {t.title: t for t in summary_tables(street_manager)}
    state = tables["按个案状态（个案）"]
    assert dict(state.rows)["一社区室"][state.columns.index("服务中")] == 5


def test_summary_page_renders(tree, street_manager):
    register(tree.c1, 3)
    http = HttpClient()
    http.force_login(street_manager)
    page = http.get("/reports/").content.decode()
    assert "信息归集" in page and "&lt;5" in page


@pytest.fixture
def huey_immediate(settings, tmp_path):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def test_deidentified_export_has_no_direct_identifier(tree, street_manager, huey_immediate):
    """S-PRIN-4: the research/teaching export carries no name, ID, phone, employer or address (canary test)."""
    canaries = {
        "name": "金丝雀王小二",
        "id_number": "33010619850612418X",
        "phone": "13912345678",
        "employer": "金丝雀科技有限公司",
        "address": "金丝雀路88号",
    }
    client = do_register_client(actor=None, unit=tree.c1, data=canaries)
    Case.objects.create(client=client, unit=tree.c1, unit_path=tree.c1.path, state="active")
    street_manager.active_assignment_id = None
    job, password = exports.do_request_export(
        actor=street_manager, dataset_key="cases_deidentified", fmt="xlsx", reason="年度科研分析去标识化数据"
    )
    job = exports.build_export(job.pk)
    assert job.status == "ready" and job.row_count == 1
    with pyzipper.AESZipFile(exports.archive_path(job)) as archive:
        data = archive.read(archive.namelist()[0], pwd=password.encode())
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    text = str(rows)
    for value in canaries.values():
        assert value not in text
    for fragment in ("金丝雀", "8612418", "12345678", "1398"):
        assert fragment not in text
    header, row = rows
    assert header[0] == "匿名编号" and len(row[0]) == 12 and row[4] == "一街道站"
    assert ExportJob.objects.get().dataset == "cases_deidentified"


def test_deidentified_export_reads_no_identifier_and_no_query_per_case(
    tree, street_manager, django_assert_max_num_queries
):
    """S-PRIN-4: the export never loads the encrypted identifiers, and its queries do not grow with the cases."""
    from apps.exports.registry import get_dataset

    for client in register(tree.c1, 12, category="disability") + register(tree.c1, 3):
        Case.objects.create(client=client, unit=tree.c1, unit_path=tree.c1.path, state="active")
    street_manager.active_assignment_id = None
    with django_assert_max_num_queries(8) as captured:
        rows = list(get_dataset("cases_deidentified").rows(street_manager, {}))
    assert len(rows) == 15 and {row[3] for row in rows} == {"残疾人员", "失业、待业人员"}
    loaded = " ".join(query["sql"] for query in captured.captured_queries)
    assert '"clients_client"."name"' not in loaded and '"clients_client"."phone"' not in loaded
