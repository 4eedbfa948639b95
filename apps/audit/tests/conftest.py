import pytest

from conftest import make_user


@pytest.fixture
def auditor(tree):
    """The audit administrator of district A (not a root unit)."""
    return make_user("auditor", tree.district, "audit_admin", full_name="区审计员")


@pytest.fixture
def root_auditor(tree):
    """The audit administrator at the root of the tree (the city centre)."""
    return make_user("root_auditor", tree.city, "audit_admin", full_name="市审计员")


@pytest.fixture
def head_file(tmp_path, settings):
    path = tmp_path / "audit-head.json"
    settings.AUDIT_HEAD_FILE = path
    settings.AUDIT_HEAD_LOG = tmp_path / "shipped" / "audit-head.log"
    return path


@pytest.fixture
def head_log(head_file, settings):
    return settings.AUDIT_HEAD_LOG
