"""Pages and API of the three-colour warning: dashboard, drill-down lists, the file, its acts."""

import datetime as dt

import pytest
from django.test import Client as Browser
from django.utils import timezone

from apps.alerts import services
from apps.alerts.choices import Colour, State
from apps.alerts.models import Warning
from apps.clients.services import do_register_client
from apps.core.scoping import unscoped
from conftest import make_user

from .conftest import phq9

pytestmark = pytest.mark.django_db


def browser(user):
    b = Browser()
    b.force_login(user)
    return b


def make_warnings(tree, worker, admin, counsellor, *, red=0, orange=0, pending=0, unit=None):
    unit = unit or tree.c1
    made = []
    for total, count in ((22, red), (12, orange)):
        for i in range(count):
            client = do_register_client(actor=None, unit=unit, data={"name": f"看板{total}-{i}"})
            warning = services.do_tag_key_person(actor=admin, client=client, proposed_colour=2, reason="排查发现")
            made.append(
                services.do_set_colour(actor=admin, warning=warning, result=phq9(client, total), counsellor=counsellor)
            )
    for i in range(pending):
        client = do_register_client(actor=None, unit=unit, data={"name": f"待定{i}"})
        made.append(services.do_tag_key_person(actor=admin, client=client, proposed_colour=1, reason="排查发现"))
    return made


def test_dashboard_counts_by_colour_and_child_unit(tree, worker, district_admin, counsellor_a, clock):
    """S-WARN-3, S-WARN-4: counts by colour and child unit, new this week, overdue feedback and cycles."""
    make_warnings(tree, worker, district_admin, counsellor_a, red=2, orange=1, pending=1)
    clock.advance(days=8)  # feedback (3 days) and the red cycles (7 days) are overdue now
    response = browser(district_admin).get("/alerts/")
    assert response.status_code == 200
    board = response.context["board"]
    assert board.totals["red"] == 2 and board.totals["orange"] == 1 and board.totals["pending"] == 1
    assert board.totals["overdue_feedback"] == 3 and board.totals["overdue_cycle"] == 2
    by_unit = {r.label: r.cells for r in board.rows}
    assert by_unit[tree.s1.name]["total"] == 4 and by_unit[tree.s2.name]["total"] == 0
    assert response.context["can_list"] is True
    assert b"alerts-chart-data" in response.content and b"echarts.min.js" in response.content


def test_dashboard_runs_a_fixed_number_of_queries(
    tree, worker, district_admin, counsellor_a, django_assert_max_num_queries
):
    """S-WARN: the dashboard is aggregates only — the query count does not grow with warnings or units."""
    make_warnings(tree, worker, district_admin, counsellor_a, red=1)
    b = browser(district_admin)
    b.get("/alerts/")
    with django_assert_max_num_queries(14) as few:
        b.get("/alerts/")
    counsellor_c3 = make_user("counsellor_c3", tree.c3, "counsellor")  # a responder must serve C3 (S-STAFF-2)
    make_warnings(tree, worker, district_admin, counsellor_c3, red=3, orange=3, pending=2, unit=tree.c3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        b.get("/alerts/")
    with django_assert_max_num_queries(len(few.captured_queries)):
        b.get("/api/alerts/dashboard/")


def test_drill_down_list_runs_a_fixed_number_of_queries(
    tree, worker, district_admin, counsellor_a, django_assert_max_num_queries
):
    """S-WARN: the drill-down list is a keyset page: the same queries for 2 rows or 12."""
    make_warnings(tree, worker, district_admin, counsellor_a, red=2)
    b = browser(district_admin)
    b.get("/alerts/warnings/?colour=3")
    with django_assert_max_num_queries(14) as few:
        response = b.get(f"/alerts/warnings/?colour=3&unit={tree.s1.pk}")
    assert len(response.context["rows"]) == 2
    make_warnings(tree, worker, district_admin, counsellor_a, red=10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = b.get(f"/alerts/warnings/?colour=3&unit={tree.s1.pk}")
    assert len(response.context["rows"]) == 12


def test_small_cells_suppressed_for_roles_without_identities(tree, worker, district_admin, evaluator, counsellor_a):
    """S-WARN: an evaluator sees "<5" for 1–4 people in a street; the district admin sees the number."""
    make_warnings(tree, worker, district_admin, counsellor_a, red=2)
    evaluator_board = browser(evaluator).get("/alerts/").context["board"]
    cells = {r.label: r.cells for r in evaluator_board.rows}
    assert cells[tree.s1.name]["red"] == "<5" and cells[tree.s2.name]["red"] == 0
    assert evaluator_board.chart["series"][0]["data"][0] is None  # the chart never shows the true value
    assert browser(evaluator).get("/alerts/warnings/").status_code == 403
    admin_cells = {r.label: r.cells for r in browser(district_admin).get("/alerts/").context["board"].rows}
    assert admin_cells[tree.s1.name]["red"] == 2


def test_counsellor_sees_file_feedback_and_due_visit(tree, worker, district_admin, counsellor_a, counsellor_b):
    """S-WARN-3, S-WARN-4: the assigned counsellor opens the file and sees the cycle due; others get 404."""
    (warning,) = make_warnings(tree, worker, district_admin, counsellor_a, red=1)
    services.do_send_feedback(actor=district_admin, warning=warning)
    page = browser(counsellor_a).get(f"/alerts/warnings/{warning.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "已于" in text and "第 1 随访周期" in text
    assert "安排上门关怀" in text and "完成本周期" in text and "定色建档</button>" not in text
    assert browser(counsellor_b).get(f"/alerts/warnings/{warning.pk}/").status_code == 404
    mine = browser(counsellor_a).get("/alerts/warnings/?mine=1")
    assert [w.pk for w, _ in mine.context["rows"]] == [warning.pk]


def test_tag_and_set_colour_through_pages(tree, worker, district_admin, counsellor_a):
    """S-WARN-2, S-WARN-3: the worker tags in the browser, the centre sets the colour from a PHQ-9."""
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "页面预警"})
    response = browser(worker).post(
        f"/alerts/clients/{client.pk}/tag/", {"proposed_colour": "3", "reason": "家属反映有轻生言语"}
    )
    with unscoped("test assertion"):
        warning = Warning.objects.get(client=client)
    assert response.status_code == 302 and warning.state == State.REPORTED
    result = phq9(client, 21)
    admin = browser(district_admin)
    form = admin.get(f"/alerts/warnings/{warning.pk}/").context["set_form"]
    assert result.pk in [c[0] for c in form.fields["result"].choices]
    admin.post(
        f"/alerts/warnings/{warning.pk}/colour/",
        {"result": result.pk, "counsellor": counsellor_a.pk, "colour": "", "reason": "", "version": warning.version},
    )
    warning.refresh_from_db()
    assert warning.colour == Colour.RED and warning.counsellor == counsellor_a
    # A stale form changes nothing and says why.
    response = admin.post(f"/alerts/warnings/{warning.pk}/close/", {"reason": "x", "version": 1}, follow=True)
    assert "已被他人修改" in response.content.decode()


def test_api_flow_and_schema(tree, worker, district_admin, counsellor_a, clock):
    """S-WARN-2…5 through the API: tag, set colour, feedback, contact, cycle; OpenAPI lists the acts."""
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "接口预警"})
    w_api, d_api = browser(worker), browser(district_admin)
    created = w_api.post(
        "/api/alerts/warnings/", {"client": client.pk, "proposed_colour": 2, "reason": "排查"},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    result = phq9(client, 12)
    bad = d_api.post(f"/api/alerts/warnings/{pk}/set-colour/", {"result": result.pk, "counsellor": counsellor_a.pk,
                     "colour": 3}, content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and "说明原因" in bad.content.decode()
    ok = d_api.post(f"/api/alerts/warnings/{pk}/set-colour/", {"result": result.pk, "counsellor": counsellor_a.pk},
                    content_type="application/json")  # fmt: skip
    assert ok.status_code == 200 and ok.json()["colour"] == Colour.ORANGE
    assert d_api.post(f"/api/alerts/warnings/{pk}/feedback/", {}, content_type="application/json").status_code == 200
    c_api = browser(counsellor_a)
    contact = c_api.post(
        f"/api/alerts/warnings/{pk}/contact/",
        {"kind": "phone", "happened_at": timezone.now().isoformat(), "note": "电话随访"},
        content_type="application/json",
    )
    assert contact.status_code == 201
    clock.advance(days=14)
    c_api = browser(counsellor_a)  # the idle session expired meanwhile
    cycle = c_api.post(f"/api/alerts/warnings/{pk}/complete-cycle/", {}, content_type="application/json")
    assert cycle.status_code == 200 and cycle.json()["cycle_number"] == 2
    detail = c_api.get(f"/api/alerts/warnings/{pk}/").json()
    assert [e["kind"] for e in detail["events"]][:3] == ["tagged", "colour_set", "feedback_sent"]
    listed = c_api.get("/api/alerts/warnings/?flag=overdue_feedback").json()
    assert listed["results"] == []
    schema = browser(district_admin).get("/api/schema/").content.decode()
    assert "/api/alerts/warnings/{id}/complete-cycle/" in schema and "/api/alerts/dashboard/" in schema


def test_policy_page(tree, district_admin):
    """S-WARN-6: the configuration page shows the defaults; a district admin below the root may only read."""
    page = browser(district_admin).get("/alerts/policy/")
    assert page.status_code == 200 and page.context["can_edit"] is False
    assert page.context["form"].initial["red_cycle_days"] == 7


def test_reminders_are_registered():
    """S-WARN-3, S-WARN-4: the 15-minute scan asks this module for overdue feedback and due cycles."""
    from apps.notifications.reminders import reminder_providers

    assert {"alerts.feedback", "alerts.cycles"} <= set(reminder_providers())


def test_reminder_scan_sends_once(tree, worker, district_admin, counsellor_a, clock):
    """S-WARN-3: an overdue feedback is reminded once per day to whoever set the colour."""
    from apps.notifications.models import Notification
    from apps.notifications.services import do_send_due_reminders

    make_warnings(tree, worker, district_admin, counsellor_a, orange=1)
    clock.advance(days=4)
    now = timezone.now()
    do_send_due_reminders(now=now)
    do_send_due_reminders(now=now)  # the next scan of the same day
    sent = Notification.objects.filter(recipient=district_admin, template="warning_feedback_due")
    assert sent.count() == 1
    do_send_due_reminders(now=now + dt.timedelta(days=1))  # still overdue the next day: reminded again
    assert sent.count() == 2
