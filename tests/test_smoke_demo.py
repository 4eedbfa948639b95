"""Smoke test: every demo login opens every menu page and the links on it without a server error.

The matrix proves who may see what; this proves that what people can open actually renders, with
the real demo data (related rows, encrypted fields, scoped managers in templates). The crawl itself
lives in tests/smoke.py (tests/test_clock.py runs it again with the clock frozen at awkward instants).
"""

import pytest
from django.core.management import call_command

from tests.smoke import crawl_demo


@pytest.mark.django_db
def test_demo_users_open_their_pages_without_errors():
    """X-1: menu pages and the pages two clicks away render for every demo role (no 500)."""
    call_command("seed_demo")
    failures, _ = crawl_demo()
    assert not failures, "\n".join(failures)
