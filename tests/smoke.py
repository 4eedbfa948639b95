"""The demo smoke crawl, shared by tests/test_smoke_demo.py and tests/test_clock.py.

Each demo login opens its menu pages and follows links on them (breadth first, a few per page and
per route) and every response with a 5xx status is a failure. Needs the demo data (``seed_demo``).
"""

import re
from collections import Counter

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
ALL_LOGINS = tuple(username for username, *_ in DEMO_LOGINS)


def route_of(url: str) -> str:
    try:
        return resolve(url).route
    except Resolver404:
        return url


def crawl_demo(
    usernames=ALL_LOGINS,
    *,
    max_depth: int = MAX_DEPTH,
    per_route: int = PER_ROUTE,
    max_requests: int = MAX_REQUESTS_PER_USER,
) -> tuple[list[str], int]:
    """Crawl as each of ``usernames``; return the failures ("user GET url → status") and the request count."""
    failures, total = [], 0
    for username in usernames:
        user = User.objects.get(username=username)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        frontier = [(item["url"], 0) for section in menu_for(user, "/") for item in section["items"]]
        shell = {url for url, _ in frontier} | {"/", "/accounts/me/", "/notifications/"}
        frontier = [("/", 0), *frontier]
        seen, requests, opened = set(), 0, Counter()
        while frontier and requests < max_requests:
            url, depth = frontier.pop(0)
            if url in seen or url.startswith(SKIP):
                continue
            seen.add(url)
            route = route_of(url)
            opened[route] += 1
            if opened[route] > per_route:  # the 3rd client page shows nothing the first two did not
                continue
            requests += 1
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{username} GET {url} → {response.status_code}")
                continue
            if depth < max_depth and response.get("Content-Type", "").startswith("text/html"):
                links = [h for h in dict.fromkeys(LINK.findall(response.content.decode())) if h not in shell]
                frontier += [(href, depth + 1) for href in links[:PER_PAGE_LINKS]]
        total += requests
    return failures, total
