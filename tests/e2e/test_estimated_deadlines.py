"""End-to-end: a reply deadline counted through an unknown holiday year, before and after the notice."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as HttpClient

from apps.outreach.services import do_record_inquiry
from apps.workdays.services import PACKAGE_YEARS
from conftest import make_user

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SH = ZoneInfo("Asia/Shanghai")
LAST = max(PACKAGE_YEARS)


def signed_in(page_factory, base, user):
    http = HttpClient()
    http.force_login(user)
    page = page_factory()
    page.context.add_cookies([{"name": "sessionid", "value": http.cookies["sessionid"].value, "url": base}])
    return page


def test_estimated_deadline_then_notice_import(live_server, page_factory, tree, counsellor_a):
    """S-FLOW-4, issue 12 item 4: the "预估" badge and its reason on the inquiry page and list; after the
    administrator imports the next year's notice the badge is gone and the import reports the recompute."""
    admin = make_user("calendar_admin", tree.city, "system_admin", full_name="日历管理员")
    received = dt.datetime(LAST, 12, 30, 10, tzinfo=SH)
    with time_machine.travel(received + dt.timedelta(hours=1), tick=False):
        inquiry = do_record_inquiry(
            actor=counsellor_a, unit=tree.c1, channel="phone", received_at=received, question="孩子不愿上学怎么办"
        )
    base = live_server.url
    page = signed_in(page_factory, base, counsellor_a)
    page.goto(f"{base}/outreach/inquiries/{inquiry.pk}/")
    assert f"{LAST + 1} 年节假日尚未录入" in page.inner_text("[data-testid=deadline-estimate-reason]")
    shot(page, "62-outreach-inquiry-estimated-deadline")
    page.goto(f"{base}/outreach/inquiries/")
    assert page.inner_text("[data-testid=deadline-estimated]") == "预估"
    shot(page, "63-outreach-inquiry-list-estimated")
    admin_page = signed_in(page_factory, base, admin)
    admin_page.goto(f"{base}/")
    shot(admin_page, "65-home-calendar-warning")  # the warning shows within 90 days of an unknown year
    admin_page.goto(f"{base}/workdays/import/")
    admin_page.fill("textarea[name=text]", f"{LAST + 1}-01-01,休,元旦")
    admin_page.click("button:has-text('检查并导入')")
    assert "重新计算 1 条" in admin_page.inner_text("main")
    shot(admin_page, "64-workdays-import-recomputed")
    page.goto(f"{base}/outreach/inquiries/{inquiry.pk}/")
    assert page.query_selector("[data-testid=deadline-estimated]") is None
