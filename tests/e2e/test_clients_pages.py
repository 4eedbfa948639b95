"""End-to-end: a counsellor finds a client, and breaks the glass for one outside their unit."""

import pytest
from django.core.management import call_command

from apps.clients.models import Client
from apps.core.scoping import unscoped

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_counsellor_searches_and_breaks_the_glass(live_server, page_factory):
    """S-ORG-2, X-2, X-4: scoped client list and search; emergency access to an out-of-scope client."""
    call_command("seed_demo", part="service")
    base = live_server.url
    with unscoped("pick demo records for the test"):
        own = Client.objects.filter(unit__code="DEMO-S1C1").order_by("id").first()
        other = Client.objects.filter(unit__code="DEMO-S3C2").order_by("id").first()
    page = page_factory()
    login(page, base, "counsellor")
    page.click("text=来访者")
    rows = page.inner_text("[data-testid=clients]")
    assert "东坡社区社会心理服务室" in rows and "宝石社区社会心理服务室" not in rows
    shot(page, "20-client-list")
    page.fill("input[name=q]", own.phone)
    page.click("button:has-text('查找')")
    page.click(f"text={own.name}")
    assert "****" in page.inner_text("[data-testid=masked-phone]")
    shot(page, "21-client-detail")

    assert page.goto(f"{base}/clients/{other.pk}/").status == 404
    page.goto(f"{base}/clients/emergency/")
    page.fill("input[name=identifier]", other.id_number)
    page.select_option("select[name=reason]", "suicide_risk")
    page.fill("textarea[name=reason_text]", "其家属来电称已失联六小时并留有遗书，需要立即核实联系人")
    shot(page, "22-emergency-form")
    page.click("button:has-text('确认紧急调阅')")
    page.wait_for_selector("[data-testid=emergency-banner]")
    shot(page, "23-emergency-detail")
