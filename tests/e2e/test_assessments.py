"""End-to-end: paper entry of a PHQ-9, a one-time phone link (390×844), and the client's trend charts."""

import re

import pytest
from django.core.management import call_command

from apps.assessments.demo import seed_demo_assessments
from apps.assessments.models import AssessmentResult
from apps.clients.models import Client
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def demo_units() -> dict:
    units = {}
    for unit in OrgUnit.objects.filter(code__regex=r"^DEMO-S\d+C\d+$"):
        street, community = re.match(r"^DEMO-S(\d+)C(\d+)$", unit.code).groups()
        units[f"community-{street}-{community}"] = unit
    return units


def test_paper_entry_phone_link_and_trend(live_server, page_factory):
    """S-WARN-1, X-6: paper PHQ-9 scored at once; a client answers GAD-7 on a phone link once; trend charts."""
    call_command("seed_demo", part="service")
    with unscoped("test checks whether demo results exist"):
        if not AssessmentResult.objects.exists():
            seed_demo_assessments(demo_units(), {})
        client = Client.objects.filter(unit__code="DEMO-S1C1").order_by("id").first()
    base = live_server.url
    page = page_factory()
    login(page, base, "counsellor")
    page.goto(f"{base}/assessments/clients/{client.pk}/")
    page.wait_for_selector("[data-testid=trend-PHQ-9] svg")
    assert page.locator(".trend-chart svg").count() == 3
    shot(page, "60-assessment-client-trend")

    page.click("[data-testid=paper-entry]")
    page.click("[data-testid=scale-choices] >> text=PHQ-9")
    for n in range(1, 10):
        page.check(f"[data-testid=item_{n}] input[value='{2 if n < 9 else 1}']")
    shot(page, "61-assessment-paper-form")
    page.click("button:has-text('保存并计分')")
    page.wait_for_selector("[data-testid=critical-alert]")
    assert "中重度抑郁" in page.inner_text("[data-testid=band]")
    assert page.inner_text("[data-testid=score]").startswith("17")
    shot(page, "62-assessment-result-detail")

    page.goto(f"{base}/assessments/clients/{client.pk}/")
    page.select_option("[data-testid=link-form] select[name=scale]", "GAD-7")
    page.click("[data-testid=link-form] button")
    page.wait_for_selector("[data-testid=qr] svg")
    url = page.input_value("[data-testid=link-url]")
    shot(page, "63-assessment-link-qr")

    phone = page_factory(390, 844)
    phone.goto(url)
    phone.wait_for_selector("[data-testid=consent-notice]")
    shot(phone, "64-assessment-phone-consent")
    phone.check("#agree")
    phone.click("[data-testid=consent-continue]")
    for n in range(1, 4):
        phone.check(f"[data-testid=item_{n}] input[value='1']")
    phone.click("[data-testid=save-progress]")
    phone.wait_for_selector("[data-testid=saved]")
    shot(phone, "65-assessment-phone-saved")
    phone.goto(url)  # a later visit: the saved answers are still there
    assert phone.is_checked("[data-testid=item_2] input[value='1']")
    for n in range(4, 8):
        phone.check(f"[data-testid=item_{n}] input[value='2']")
    phone.click("[data-testid=submit]")
    phone.wait_for_selector("[data-testid=done]")
    shot(phone, "66-assessment-phone-done")
    assert phone.goto(url).status == 410

    page.goto(f"{base}/assessments/clients/{client.pk}/")
    table = page.inner_text("[data-testid=client-result-table]")
    assert "本人自评" in table and "中度焦虑" in table
    assert "已提交" in page.inner_text("[data-testid=links]")
    shot(page, "67-assessment-client-after")
