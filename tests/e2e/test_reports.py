"""End-to-end: a street manager opens the information aggregation page."""

import pytest
from django.core.management import call_command

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_street_manager_sees_summary_of_own_communities(live_server, page_factory):
    """S-CLIENT-5: summary rows are the street's own communities, small cells suppressed."""
    call_command("seed_demo", part="service")
    page = page_factory()
    login(page, live_server.url, "street")
    page.click("text=信息归集")
    text = page.inner_text("main")
    assert "东坡社区社会心理服务室" in text and "清河坊社区社会心理服务室" not in text
    shot(page, "50-reports-summary")
