"""Fixtures of the notifications tests: huey in immediate mode and two people, Alice and Bob."""

import pytest
from huey.contrib.djhuey import HUEY

from conftest import make_user


@pytest.fixture(autouse=True)
def huey_immediate():
    """Run huey tasks in this process, on in-memory storage: the real task functions, no queue file."""
    previous = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = previous


@pytest.fixture(autouse=True)
def quiet_sms(settings, tmp_path):
    """SMS go to a file in the test's own directory unless a test chooses another backend."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.FileSmsBackend"
    settings.NOTIFY_SMS_FILE_PATH = str(tmp_path / "sms.log")
    settings.NOTIFY_RETRY_DELAY = 0
    settings.NOTIFY_MAX_ATTEMPTS = 3
    return tmp_path / "sms.log"


@pytest.fixture
def alice(tree):
    return make_user(
        "alice", tree.c1, "counsellor", full_name="爱丽丝", mobile="13812345678", email="alice@example.org"
    )


@pytest.fixture
def bob(tree):
    return make_user("bob", tree.c1, "counsellor", full_name="鲍勃", mobile="13987654321", email="bob@example.org")


@pytest.fixture
def client_of(client):
    def login(user):
        client.force_login(user)
        return client

    return login
