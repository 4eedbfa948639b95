"""End-to-end: a counsellor finds a client, and breaks the glass for one outside their unit."""

import pytest
from django.core.management import call_command

from apps.clients.models import Client
from apps.core.scoping import unscoped

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_counsellor_searches_and_breaks_the_glass(live_server, page_factory):
    """S-ORG-2, X-2, X-4, S-CLIENT-4: scoped client list and search; a guardian added (a missing consent
    refused on its field) and ended on the client's page; emergency access to an out-of-scope client."""
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

    # S-CLIENT-4: a guardian is added later on the client's page, with consent; a refusal shows on its field
    page.click("[data-testid=guardian-add]")
    page.fill("input[name=name]", "王秀兰")
    page.fill("input[name=relationship]", "母亲")
    page.fill("input[name=phone]", "13900139077")
    page.select_option("select[name=consent_method]", "written")
    page.click("[data-testid=guardian-form] button:has-text('登记')")
    error = page.inner_text(".invalid-feedback")
    assert "没有监护人的同意不能登记为监护人" in error
    shot(page, "24-guardian-consent-refused")
    page.check("input[name=consent]")
    page.click("[data-testid=guardian-form] button:has-text('登记')")
    page.wait_for_selector("[data-testid=guardians] >> text=王秀兰（母亲）")
    assert "书面同意书" in page.inner_text("[data-testid=guardians]")
    shot(page, "25-guardian-added")
    page.click("[data-testid=guardians] >> text=修改")
    page.fill("input[name=phone]", "13900139078")
    shot(page, "26-guardian-edit-form")
    page.click("[data-testid=guardian-form] button:has-text('保存')")
    page.wait_for_selector("text=监护人信息已修改")
    page.click("[data-testid=guardians] >> text=终止")
    page.fill("input[name=reason]", "监护关系变更，由父亲代理")
    shot(page, "27-guardian-end-form")
    page.click("[data-testid=guardian-form] button:has-text('确认终止')")
    page.wait_for_selector("[data-testid=guardian-ended]")
    assert "监护关系变更" in page.inner_text("[data-testid=guardians]")
    shot(page, "28-guardian-ended")

    assert page.goto(f"{base}/clients/{other.pk}/").status == 404
    page.goto(f"{base}/clients/emergency/")
    page.fill("input[name=identifier]", other.id_number)
    page.select_option("select[name=reason]", "suicide_risk")
    page.fill("textarea[name=reason_text]", "其家属来电称已失联六小时并留有遗书，需要立即核实联系人")
    shot(page, "22-emergency-form")
    page.click("button:has-text('确认紧急调阅')")
    page.wait_for_selector("[data-testid=emergency-banner]")
    shot(page, "23-emergency-detail")
