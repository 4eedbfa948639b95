"""Fixtures shared by the screening tests: imports run at once, into a private upload folder."""

import pytest
from huey.contrib.djhuey import HUEY

from conftest import make_user


@pytest.fixture
def immediate_imports(settings, tmp_path):
    """Uploaded files go to a temporary folder and the background import runs inside the request."""
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


@pytest.fixture
def worker(tree):
    return make_user("worker", tree.c1, "community_worker", full_name="社区专干")
