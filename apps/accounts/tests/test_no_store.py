"""Pages and API responses with personal data are never stored by browsers or proxies (issue 14 item 8)."""

from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.tokens import do_create_token


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_pages_of_a_logged_in_user_are_not_stored(tree, counsellor_a, district_admin):
    """S-PRIN-3, issue 14 item 8: every HTML answer to a logged-in request says no-store."""
    client = Client()
    client.force_login(district_admin)
    for url in ("/", "/accounts/me/", f"/accounts/users/{counsellor_a.pk}/", f"/orgs/{tree.c1.pk}/", "/no-such-page/"):
        response = client.get(url)
        assert response.status_code == (404 if url == "/no-such-page/" else 200), url
        assert no_store(response), (url, response.status_code, response.get("Cache-Control"))


def test_api_answers_are_not_stored(tree, counsellor_a):
    """S-PRIN-3, issue 14 item 8: API answers say no-store — token, session, refused and anonymous alike."""
    _token, key = do_create_token(actor=counsellor_a, name="缓存")
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    session_client = APIClient()
    session_client.force_login(counsellor_a)
    responses = [
        token_client.get("/api/clients/"),
        token_client.get("/api/audit-entries/"),  # 403
        session_client.get("/api/org-units/"),
        APIClient().get("/api/clients/"),  # anonymous, refused
    ]
    assert [r.status_code for r in responses] == [200, 403, 200, 403]
    assert all(no_store(r) for r in responses)


def test_static_files_keep_their_caching(tree, counsellor_a):
    """Issue 14 item 8: the rule leaves static files alone, even for a logged-in browser."""
    client = Client()
    client.force_login(counsellor_a)
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert not no_store(response)
