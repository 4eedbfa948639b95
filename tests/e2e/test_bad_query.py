"""End-to-end: a number no column can hold in a page's query string gets a Chinese 400 page (issue 14 item 7)."""

import pytest

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_out_of_range_filter_shows_the_400_page(live_server, page_factory):
    """X-6 (issue 14 item 7): ``?unit=<40 digits>`` answers 400 with a page that names the parameter."""
    page = page_factory()
    response = page.goto(f"{live_server.url}/alerts/warnings/?unit={'9' * 40}&colour=%C2%B2")
    assert response.status == 400
    text = page.inner_text("[data-testid=bad-request]")
    assert "请求有误" in text and "unit" in text and "数值超出允许范围" in text and "请使用阿拉伯数字" in text
    shot(page, "bad-query-400")
