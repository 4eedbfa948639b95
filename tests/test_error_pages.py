"""What a person sees when something is refused or missing, in which language, and what an export carries."""

import csv
import io

from django.test import Client as HttpClient
from django.utils import timezone
from openpyxl import load_workbook

from apps.accounts.models import Assignment, Role
from apps.appointments.models import Appointment, Availability
from apps.appointments.tests.conftest import next_weekday
from apps.audit import exports as audit_exports
from apps.audit.models import AuditEntry
from apps.core.scoping import unscoped
from apps.exports.models import ExportJob
from apps.exports.services import _write_table

FORMULA = '=HYPERLINK("http://evil.example","点我")'


def logged_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def test_forbidden_page_is_chinese_and_tells_a_person_with_two_posts_to_switch(tree, counsellor_a):
    """X-1, S-ORG-2: a refused page says why in Chinese; with several posts it points to the switcher."""
    page = logged_in(counsellor_a).get("/audit/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "您没有权限访问此页面" in text and "心理咨询师" in text and "Forbidden" not in text
    assert "换岗位并重新打开" not in text
    Assignment.objects.create(user=counsellor_a, unit=tree.c2, role=Role.objects.get(code="member"))
    http = logged_in(counsellor_a)
    assert "换岗位并重新打开" in http.get("/audit/").content.decode()
    other = Assignment.objects.get(user=counsellor_a, unit=tree.c2)
    switched = http.post("/accounts/switch/", {"assignment": other.pk, "next": "/audit/"})
    assert switched.status_code == 302 and switched["Location"] == "/audit/"


def test_missing_page_is_chinese_for_staff_and_public(tree, counsellor_a):
    """X-1: a missing page or record is explained in Chinese, signed in or not, and shows no URL list."""
    for http in (logged_in(counsellor_a), HttpClient()):
        page = http.get("/no-such-page/")
        assert page.status_code == 404
        text = page.content.decode()
        assert "没有找到该页面或记录" in text and "Page not found" not in text


def test_browser_language_does_not_switch_the_interface_to_english(tree, counsellor_a):
    """X-1: Chinese by default whatever the browser asks for; English only when chosen in the top bar."""
    public = HttpClient(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "登录" in public.get("/accounts/login/").content.decode()
    staff = logged_in(counsellor_a)
    staff.defaults["HTTP_ACCEPT_LANGUAGE"] = "en-US"
    assert "退出登录" in staff.get("/").content.decode()
    staff.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Log out" in staff.get("/").content.decode()


def test_public_booking_of_a_taken_hour_shows_the_reason_on_the_form(tree, counsellor_a, settings):
    """S-FLOW-1: a member of the public who picks an hour just taken gets a Chinese message, not an error page."""
    from apps.notifications.backends import sms_outbox

    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"
    starts = next_weekday(0, 10)
    Availability.objects.create(
        unit=tree.c1, unit_path=tree.c1.path, counsellor=counsellor_a, weekday=0, start="09:00", end="12:00"
    )
    post = {
        "slot": starts.isoformat(), "channel": "onsite", "contact_name": "王小明",
        "contact_phone": "139 1234 5678", "needs_symptoms": "想咨询", "agree": "on",
    }  # fmt: skip
    first = HttpClient()
    assert first.post(f"/book/{tree.c1.pk}/", post).status_code == 302
    assert first.post("/book/verify/", {"code": sms_outbox[-1].params["code"]}).status_code == 302  # issue 14
    taken = HttpClient().post(f"/book/{tree.c1.pk}/", {**post, "contact_phone": "13700001111"})
    assert taken.status_code == 200 and "该时段已约满或不在服务时间内" in taken.content.decode()
    outside = HttpClient().post(f"/book/{tree.c1.pk}/", {**post, "slot": starts.replace(hour=3).isoformat()})
    page = outside.content.decode()
    assert outside.status_code == 200 and "不在一社区室的开放时间内" in page  # S-FLOW-1: outside opening hours
    with unscoped("test"):
        assert Appointment.objects.count() == 1


def test_exported_text_never_becomes_a_formula():
    """X-3: text typed on a public form reaches Excel and CSV files as text, never as a formula."""
    rows = [(FORMULA, "+8613912345678", "-1", "@SUM(A1)", "普通文字", 5)]
    book = load_workbook(io.BytesIO(_write_table("xlsx", ("a", "b", "c", "d", "e", "f"), rows, lambda: None)))
    cells = list(book.active.iter_rows(min_row=2))[0]
    assert cells[0].value == FORMULA and cells[0].data_type == "s"
    assert [cell.value for cell in cells[1:]] == ["+8613912345678", "-1", "@SUM(A1)", "普通文字", 5]
    data = _write_table("csv", ("a", "b", "c", "d", "e", "f"), rows, lambda: None).decode("utf-8-sig")
    (_, row) = list(csv.reader(io.StringIO(data)))
    assert row == ["'" + FORMULA, "'+8613912345678", "'-1", "'@SUM(A1)", "普通文字", "5"]


def test_audit_export_keeps_a_typed_formula_as_text(tree, district_admin):
    """X-4, X-3: a purpose typed by a user is exported from the audit log as text."""
    from apps.audit.services import log_event

    log_event(actor=district_admin, action="other", obj=tree.c1, purpose=FORMULA)
    entries = AuditEntry.objects.filter(purpose=FORMULA)
    book = load_workbook(io.BytesIO(audit_exports.xlsx_bytes(entries)))
    assert "'" + FORMULA in [cell.value for row in book.active.iter_rows(min_row=2) for cell in row]
    rows = list(csv.reader(io.StringIO("".join(audit_exports.csv_stream(entries)))))
    assert "'" + FORMULA in rows[1]


def test_export_list_names_the_list_in_chinese(tree, district_admin):
    """X-3: the user's export jobs name the exported list in Chinese, not by its internal key."""
    ExportJob.objects.create(
        requested_by=district_admin,
        unit=tree.district,
        dataset="users",
        format="csv",
        reason="核对人员名单用途",
        unit_path=tree.district.path,
        expires_at=timezone.now(),
    )
    page = logged_in(district_admin).get("/exports/").content.decode()
    assert "人员账号" in page and ">users<" not in page
