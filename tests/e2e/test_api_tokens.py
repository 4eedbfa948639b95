"""End-to-end: personal API tokens in 个人设置 (issue 14 item 3): create, key shown once, use, revoke."""

import re
import urllib.request

import pytest

from conftest import PASSWORD, Tree, make_user

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def call(base, key) -> int:
    url = f"{base}/api/org-units/"
    request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"})  # noqa: S310 - live server
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - the live test server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_token_page_creates_shows_once_and_revokes(live_server, page_factory):
    """X-6, S-PRIN-3: the page lists tokens with dates and state; the key appears once and works until revoked."""
    tree = Tree()
    make_user("manager_e2e", tree.s1, "street_manager", full_name="街道负责人")
    base = live_server.url
    page = page_factory()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "manager_e2e")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=active-grant]")
    page.goto(f"{base}/accounts/me/token/")
    page.fill("input[name=name]", "区级数据平台对接")
    page.click("button:has-text('生成令牌')")
    key = page.inner_text("[data-testid=token]").strip()
    assert re.fullmatch(r"xy_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    assert "区级数据平台对接" in page.inner_text("[data-testid=token-list]")
    shot(page, "tokens-01-created")
    assert call(base, key) == 200
    page.goto(f"{base}/accounts/me/token/")
    assert key not in page.content()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=token-list] button:has-text('作废')")
    page.wait_for_selector("text=已作废")
    shot(page, "tokens-02-revoked")
    assert call(base, key) in (401, 403)
