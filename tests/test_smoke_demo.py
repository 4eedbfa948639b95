"""Smoke test: every demo login opens every menu page and the links on it without a server error.

The matrix proves who may see what; this proves that what people can open actually renders, with
the real demo data (related rows, encrypted fields, scoped managers in templates).
"""

import re
from collections import Counter

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve

from apps.accounts.models import User
from apps.core.management.commands.seed_demo import DEMO_LOGINS
from apps.core.menu import menu_for

LINK = re.compile(r'href="(/[^"#?]*)(?:\?[^"]*)?"')
SKIP = ("/static/", "/accounts/logout", "/api/docs", "/api/schema", "/book/", "/exports/new/")
PER_PAGE_LINKS = 12


MAX_DEPTH = 2
PER_ROUTE = 2  # pages of one route (e.g. two different clients' pages) opened per user
MAX_REQUESTS_PER_USER = 120


def route_of(url: str) -> str:
    try:
        return resolve(url).route
    except Resolver404:
        return url


@pytest.mark.django_db
def test_demo_users_open_their_pages_without_errors():
    """X-1: menu pages and the pages two clicks away render for every demo role (no 500)."""
    call_command("seed_demo")
    failures = []
    for username, *_ in DEMO_LOGINS:
        user = User.objects.get(username=username)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        frontier = [(item["url"], 0) for section in menu_for(user, "/") for item in section["items"]]
        shell = {url for url, _ in frontier} | {"/", "/accounts/me/", "/notifications/"}
        seen, requests, per_route = set(), 0, Counter()
        while frontier and requests < MAX_REQUESTS_PER_USER:
            url, depth = frontier.pop(0)
            if url in seen or url.startswith(SKIP):
                continue
            seen.add(url)
            route = route_of(url)
            per_route[route] += 1
            if per_route[route] > PER_ROUTE:  # the 3rd client page shows nothing the first two did not
                continue
            requests += 1
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{username} GET {url} → {response.status_code}")
                continue
            if depth < MAX_DEPTH and response.get("Content-Type", "").startswith("text/html"):
                links = [h for h in dict.fromkeys(LINK.findall(response.content.decode())) if h not in shell]
                frontier += [(href, depth + 1) for href in links[:PER_PAGE_LINKS]]
    assert not failures, "\n".join(failures)
