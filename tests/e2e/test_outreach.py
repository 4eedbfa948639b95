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


def test_crisis_phrase_in_inquiry_shows_banner(live_server, page_factory):
    """S-FLOW-3, S-WARN-2: an inquiry saying "活着没意思" shows the crisis banner at once; the handler is told;
    the list and designation pages of apps.crisis render."""
    import importlib

    from django.apps import apps as django_apps

    from apps.clients.models import Client
    from apps.notifications.models import Notification

    call_command("seed_demo", part="service")
    # the shipped list as the data migration leaves it (an earlier transactional test flushed the tables)
    importlib.import_module("apps.crisis.migrations.0002_seed_expressions").seed(django_apps, None)
    with unscoped("pick a demo client"):
        client = Client.objects.filter(unit__code="DEMO-S1C1").order_by("id").first()
    base = live_server.url
    page = page_factory()
    login(page, base, "worker")
    page.goto(f"{base}/outreach/inquiries/new/")
    unit_value = page.locator("select[name=unit] option", has_text="东坡").first.get_attribute("value")
    page.select_option("select[name=unit]", value=unit_value)
    page.fill("input[name=client_id]", str(client.pk))
    page.fill("textarea[name=question]", "最近总觉得活着 没意思，晚上睡不着。")
    page.click("button:has-text('保存')")
    banner = page.wait_for_selector("[data-testid=crisis-banner]")
    assert "活着没意思" in banner.inner_text() and "已通知" in banner.inner_text()
    shot(page, "62-outreach-inquiry-crisis-banner")
    page.click("[data-testid=crisis-tag-warning]")
    page.wait_for_selector("textarea[name=reason]")
    assert f"/alerts/clients/{client.pk}/tag/" in page.url
    assert Notification.objects.filter(template="crisis_expression", recipient__username="community").exists()

    page = page_factory()
    login(page, base, "community")
    page.goto(f"{base}/crisis/handlers/")
    shot(page, "63-crisis-handlers")
    page = page_factory()
    login(page, base, "district")
    page.goto(f"{base}/crisis/expressions/")
    page.fill("input[name=phrase]", "死")
    page.click("button:has-text('添加')")
    assert "至少 2 个字" in page.inner_text("[data-testid=expression-form]")
    shot(page, "64-crisis-expressions-error")
