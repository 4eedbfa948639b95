"""X-3: the case list and the reception list export to Excel/CSV, scoped and filtered like the lists."""

import pytest
from django.utils import timezone

from apps.casework import services
from apps.clients.services import do_register_client
from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_through_http, fresh_client
from conftest import make_user

ID_C1 = "33010619850612418X"
PHONE_C1 = "13800138000"
NOTES = "来访者谈到失眠与工作压力"
CRISIS_ACTION = "按应急预案联系监护人并陪同就医"


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


@pytest.fixture
def casework(tree, counsellor_a, counsellor_b):
    """An active case with a session in C1, a requested case in C2 (street S1), a case in C3 (street S2);
    a crisis reception in C1 and a reception in C3."""
    counsellor_c3 = make_user("counsellor_c3", tree.c3, "counsellor", full_name="咨询师丙")
    c1 = do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰", "id_number": ID_C1, "phone": PHONE_C1})
    c2 = do_register_client(actor=None, unit=tree.c2, data={"name": "李四光"})
    s2 = do_register_client(actor=None, unit=tree.c3, data={"name": "王五福"})
    active = services.do_open_case(actor=counsellor_a, client=c1, counsellor=counsellor_a)
    services.do_transition_case(
        actor=counsellor_a, case=active, to_state="active", requested_by="client", reason="首次咨询"
    )
    services.do_record_session(
        actor=counsellor_a, case=active, data={"duration_minutes": 50, "notes": NOTES, "framework": "认知行为"}
    )
    requested = services.do_open_case(actor=counsellor_b, client=c2)
    other = services.do_open_case(actor=counsellor_c3, client=s2, counsellor=counsellor_c3)
    told = {"told_flow_rights": True, "reason": "近期失眠"}
    crisis = services.do_record_reception(
        actor=counsellor_a, client=c1, data={**told, "crisis": True, "crisis_action": CRISIS_ACTION}
    )
    far = services.do_record_reception(actor=counsellor_c3, client=s2, data=told)
    return {"active": active, "requested": requested, "other": other, "crisis": crisis, "far": far}


def test_case_export_is_scoped_filtered_and_holds_no_notes(casework, street_manager):
    """X-3, S-PRIN-1, S-PRIN-3, S-ORG-2: the sibling street's case is absent; ``state`` narrows as on the
    list (junk shows all); no notes, ID number or phone appear."""
    dataset = get_dataset("cases")
    rows = list(dataset.rows(street_manager, {}))
    assert [r[0] for r in rows] == [casework["requested"].pk, casework["active"].pk]  # newest first
    assert casework["other"].pk not in {r[0] for r in rows}
    opened = timezone.localdate(casework["active"].opened_at)
    assert rows[1] == (casework["active"].pk, "张三丰", "服务中", "咨询师甲", "一社区室", opened)
    assert rows[0][2:4] == ("已申请", "未指派")
    assert all(len(row) == len(dataset.columns) for row in rows)
    text = repr(rows)
    for canary in (ID_C1, PHONE_C1, NOTES, "认知行为", "失眠"):
        assert canary not in text
    assert [r[0] for r in dataset.rows(street_manager, {"state": "active"})] == [casework["active"].pk]
    assert list(dataset.rows(street_manager, {"state": "closed"})) == []
    assert list(dataset.rows(street_manager, {"state": "<junk>"})) == rows


def test_reception_export_is_scoped_and_holds_no_notes(casework, street_manager):
    """X-3, S-FLOW-3, S-ORG-2: the sibling street's reception is absent; reasons and crisis actions never
    appear."""
    dataset = get_dataset("receptions")
    rows = list(dataset.rows(street_manager, {"q": "x" * 200}))
    assert [r[0] for r in rows] == [casework["crisis"].pk]
    received = timezone.localtime(casework["crisis"].received_at).strftime("%Y-%m-%d %H:%M")
    assert rows[0] == (casework["crisis"].pk, "张三丰", received, "咨询师甲", "一社区室", "危机", "")
    assert len(rows[0]) == len(dataset.columns)
    for canary in (CRISIS_ACTION, "失眠", ID_C1, PHONE_C1):
        assert canary not in repr(rows)


def test_case_export_through_the_page(casework, street_manager, django_capture_on_commit_callbacks):
    """X-3, S-PRIN-1: the filtered export arrives as an encrypted xlsx holding the list's rows."""
    http = fresh_client(street_manager)
    rows = export_through_http(http, django_capture_on_commit_callbacks, "cases", "?state=active&after=1")
    assert rows[0] == get_dataset("cases").columns
    assert [r[:4] for r in rows[1:]] == [(casework["active"].pk, "张三丰", "服务中", "咨询师甲")]
    assert ExportJob.objects.get().filters == {"state": "active"}


def test_lists_show_export_buttons_to_managers_only(casework, tree, street_manager, counsellor_a):
    """X-3: the manager sees the buttons (carrying the filter); a counsellor (no export permission) sees
    the lists without them; a volunteer sees neither."""
    http = fresh_client(street_manager)
    assert "/exports/new/csv/cases/?state=active" in http.get("/casework/cases/?state=active").content.decode()
    assert 'data-testid="export-receptions-xlsx"' in http.get("/casework/receptions/").content.decode()
    page = fresh_client(counsellor_a).get("/casework/cases/")
    assert page.status_code == 200 and "export-cases" not in page.content.decode()
    volunteer = fresh_client(make_user("volunteer_c1", tree.c1, "volunteer"))
    assert "export-cases" not in volunteer.get("/casework/cases/").content.decode()
