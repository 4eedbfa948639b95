"""Shared fixtures: a small org tree and named people on each side of every permission line.

Tree (``tree`` fixture)::

    city 市级中心 (root)
      district A 区中心
        street S1 街道站 ─ community C1 社区室, community C2 社区室
        street S2 街道站 ─ community C3 社区室
    other 其他区 (a second tree)

Personas hold one role at one unit: ``district_admin`` at A, ``street_manager`` at S1,
``counsellor_a`` at C1, ``counsellor_b`` at C2, ``outsider`` at the other tree's root.
"""

import os
import select
import time

import pytest

from apps.accounts.models import Assignment, Role, User
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit

PASSWORD = "Xinyuan-Test-2026!"  # noqa: S105 - test fixture

# Tests that take tens of seconds each. Run first, so the two xdist workers share them and the short
# tests fill in around them; collected last (tests/ sorts after apps/), they left one worker alone for
# minutes at the end of each run.
SLOW_FIRST = (
    "tests/e2e/",
    "tests/test_authorization_matrix.py",
    "tests/test_smoke_demo.py",
    "tests/test_clock.py",
    "apps/audit/tests/test_verify.py",
    "apps/alerts/tests/test_state_machine.py",
    "apps/alerts/tests/test_demo.py",
    "apps/assistance/tests/test_demo.py",
)


if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    # Under `faketime --exclude-monotonic` (docs/dev/clock.md) libfaketime 0.9.10 makes every time.sleep fail
    # with EINVAL (its clock_nanosleep wrapper), e.g. inside subprocess.communicate(timeout=...); select()
    # sleeps on a relative timeout it leaves alone. Only under faketime, never in a normal run (issue 12 item 1).
    time.sleep = lambda seconds: select.select([], [], [], seconds) and None


def pytest_configure(config):
    """Under faketime, child processes that are not test workers (gunicorn in tests/test_serve.py, the
    parser child of apps.core.uploads) run on the real clock: in them libfaketime's broken sleep cannot be
    patched, and nothing they do depends on the date. xdist workers keep it (the controller starts them)."""
    if "faketime" not in os.environ.get("LD_PRELOAD", ""):
        return
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        os.environ.pop("LD_PRELOAD")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))  # stable: order kept within each group


class Tree:
    def __init__(self):
        self.city = do_create_unit(actor=None, parent=None, kind=UnitKind.CITY, name="测试市中心", code="T-CITY")
        self.district = do_create_unit(
            actor=None, parent=self.city, kind=UnitKind.DISTRICT_CENTRE, name="测试区中心", code="T-A"
        )
        self.s1 = do_create_unit(
            actor=None, parent=self.district, kind=UnitKind.STREET_STATION, name="一街道站", code="T-S1"
        )
        self.s2 = do_create_unit(
            actor=None, parent=self.district, kind=UnitKind.STREET_STATION, name="二街道站", code="T-S2"
        )
        self.c1 = do_create_unit(actor=None, parent=self.s1, kind=UnitKind.COMMUNITY_ROOM, name="一社区室", code="T-C1")
        self.c2 = do_create_unit(actor=None, parent=self.s1, kind=UnitKind.COMMUNITY_ROOM, name="二社区室", code="T-C2")
        self.c3 = do_create_unit(actor=None, parent=self.s2, kind=UnitKind.COMMUNITY_ROOM, name="三社区室", code="T-C3")
        self.other = do_create_unit(
            actor=None, parent=None, kind=UnitKind.DISTRICT_CENTRE, name="外区中心", code="T-OTHER"
        )


@pytest.fixture(autouse=True, scope="session")
def private_task_queue(tmp_path_factory):
    """Tasks queued by tests (reminders, deliveries, exports) go to a queue of their own, never to the
    var/huey.sqlite3 that ``make run``'s worker consumes."""
    from huey.contrib.djhuey import HUEY
    from huey.storage import SqliteStorage

    # Huey rebuilds its storage from storage_kwargs whenever a test toggles immediate mode, so change those.
    previous = dict(HUEY.storage_kwargs)
    HUEY.storage_kwargs.pop("url", None)
    HUEY.storage_kwargs["filename"] = str(tmp_path_factory.mktemp("huey") / "huey.sqlite3")
    HUEY.storage_class = SqliteStorage
    HUEY.storage = HUEY.create_storage()
    yield HUEY.storage_kwargs["filename"]
    HUEY.storage_kwargs.clear()
    HUEY.storage_kwargs.update(previous)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 takes ~0.1 s a hash on purpose; the suite creates thousands of accounts, so tests hash with MD5.
    Production keeps Argon2 (``test_production_hashes_passwords_with_argon2``)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: rate-limit counters (per IP, all tests share 127.0.0.1) and
    cached lookups of one test must not refuse or serve another test in the same worker."""
    from django.core.cache import cache

    cache.clear()


def make_user(username: str, unit, role_code: str | None = None, **extra) -> User:
    """Create an active user with home ``unit`` and, if given, ``role_code`` at that unit."""
    user = User.objects.create_user(
        username=username, password=PASSWORD, full_name=extra.pop("full_name", username), unit=unit, **extra
    )
    if role_code:
        Assignment.objects.create(user=user, unit=unit, role=Role.objects.get(code=role_code))
    return user


@pytest.fixture
def tree(db):
    return Tree()


@pytest.fixture
def district_admin(tree):
    return make_user("district_admin", tree.district, "district_admin", full_name="区管理员")


@pytest.fixture
def street_manager(tree):
    return make_user("street_manager", tree.s1, "street_manager", full_name="街道负责人")


@pytest.fixture
def counsellor_a(tree):
    return make_user("counsellor_a", tree.c1, "counsellor", full_name="咨询师甲")


@pytest.fixture
def counsellor_b(tree):
    return make_user("counsellor_b", tree.c2, "counsellor", full_name="咨询师乙")


@pytest.fixture
def outsider(tree):
    return make_user("outsider", tree.other, "district_admin", full_name="外区管理员")


@pytest.fixture
def nobody(tree):
    """An account with no assignment at all: sees nothing."""
    return make_user("nobody", tree.c1, None, full_name="无岗位人员")


@pytest.fixture
def immediate_exports(settings, tmp_path):
    """Export jobs run at once (huey immediate mode) and write into a private folder."""
    from huey.contrib.djhuey import HUEY

    settings.EXPORT_DIR = str(tmp_path / "exports")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield settings.EXPORT_DIR
    HUEY.immediate = previous
