"""End-to-end: demo users of different units log in, switch unit and see only their subtree."""

import pytest
from django.core.management import call_command

from apps.core.management.commands.seed_demo import DEMO_PASSWORD

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=active-grant]")


def tree_names(page) -> str:
    page.wait_for_selector("[data-testid=tree] li li", state="attached")
    return page.inner_text("main")


def test_two_units_see_only_their_own_subtree(live_server, page_factory):
    """S-ORG-2, X-1: street managers of two streets, and a counsellor switching between two communities."""
    call_command("seed_demo", part="base")
    base = live_server.url

    street1 = page_factory()
    login(street1, base, "street")
    assert "湖滨街道社会心理服务站 · 街道负责人" in street1.inner_text("[data-testid=active-grant]")
    shot(street1, "01-home-street1")
    street1.click("text=组织架构")
    text = tree_names(street1)
    assert "东坡社区社会心理服务室" in text
    assert "清河坊社区社会心理服务室" not in text and "示范区社会心理服务指导中心" not in text
    shot(street1, "02-orgs-street1")

    street2 = page_factory(width=390, height=844)  # a phone
    login(street2, base, "street2")
    street2.goto(f"{base}/orgs/")
    text = tree_names(street2)
    assert "清河坊社区社会心理服务室" in text and "东坡社区社会心理服务室" not in text
    shot(street2, "03-orgs-street2-phone")

    # The street-1 manager cannot open a street-2 unit by guessing its URL: 404, as if missing.
    other_id = street2.url.rstrip("/").split("/")[-1]
    response = street1.goto(f"{base}/orgs/{other_id}/")
    assert response.status == 404

    counsellor = page_factory()
    login(counsellor, base, "counsellor")
    assert "东坡社区" in counsellor.inner_text("[data-testid=active-grant]")
    counsellor.select_option("#assignment-select", label="清河坊社区社会心理服务室 · 心理咨询师")
    counsellor.wait_for_selector("text=已切换到")
    assert "清河坊社区" in counsellor.inner_text("[data-testid=active-grant]")
    shot(counsellor, "04-home-counsellor-switched")
