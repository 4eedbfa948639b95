"""End-to-end: overdue remote inquiries, and a home-visit record refused with one staff member."""

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit
from apps.outreach.demo import seed_demo_outreach
from apps.outreach.models import HomeVisit

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_overdue_inquiries_and_two_staff_rule(live_server, page_factory):
    """S-FLOW-4, S-FLOW-6: the overdue list is highlighted; a visit with one staff member is refused."""
    call_command("seed_demo", part="service")
    units = {
        "community-1-1": OrgUnit.objects.get(code="DEMO-S1C1"),
        "community-2-1": OrgUnit.objects.get(code="DEMO-S2C1"),
    }
    users = {u.username: u for u in User.objects.filter(username__in=["counsellor", "worker", "assistant"])}
    seed_demo_outreach(units, users)
    with unscoped("pick a demo visit"):
        visit = HomeVisit.objects.filter(unit=units["community-1-1"], status="planned").order_by("planned_for").first()
    base = live_server.url
    page = page_factory()
    login(page, base, "counsellor")
    page.click("text=电话网络咨询")
    page.click("text=逾期未回复")
    rows = page.inner_text("[data-testid=overdue-inquiries]")
    assert "逾期" in rows and "东坡社区社会心理服务室" in rows
    shot(page, "60-outreach-overdue-inquiries")
    page.goto(f"{base}/outreach/visits/{visit.pk}/record/")
    for box in page.query_selector_all("input[name=staff]:checked"):
        box.uncheck()
    page.check(f"input[name=staff][value='{users['counsellor'].pk}']")
    page.fill("input[name=family_present]", "王芳（母亲）")
    page.fill("textarea[name=record]", "情绪平稳，按时服药。")
    page.click("button:has-text('保存')")
    assert "至少两名工作人员" in page.inner_text("main")
    shot(page, "61-outreach-visit-two-staff-error")
