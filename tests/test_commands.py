"""Setup commands: production refusal, bootstrap of an empty install, demo data."""

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import Assignment, User
from apps.core.access import can
from apps.core.management.commands.seed_demo import DEMO_LOGINS, build_city
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit
from tests.production_env import production_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def settings_import(env: dict) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "XINYUAN_ENV")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import xinyuan.settings"], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


def test_production_refuses_debug_and_default_secret():
    """Production mode refuses to start with DEBUG on or a default secret key."""
    good_key = "k" * 50
    base = {"XINYUAN_ENV": "production", "ALLOWED_HOSTS": "x.example"}
    result = settings_import({**base, "SECRET_KEY": good_key, "DEBUG": "true"})
    assert result.returncode != 0 and "DEBUG" in result.stderr
    result = settings_import(base)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
    result = settings_import({**base, "SECRET_KEY": "short"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_bootstrap_creates_top_unit_and_system_admin(monkeypatch):
    monkeypatch.setenv("XINYUAN_BOOTSTRAP_PASSWORD", "Bootstrap-Pass-2026")
    call_command(
        "bootstrap", unit_name="某区社会心理服务指导中心", unit_code="330105", username="admin", full_name="张三"
    )
    admin = User.objects.get(username="admin")
    assert admin.check_password("Bootstrap-Pass-2026")
    unit = OrgUnit.objects.get(code="330105")
    assert Assignment.objects.get(user=admin).role.code == "system_admin"
    assert can(admin, Perm.ORG_MANAGE, unit)
    with pytest.raises(CommandError, match="空库"):
        call_command("bootstrap", unit_name="另一个", unit_code="X", username="admin2", full_name="李四")


@pytest.mark.django_db
def test_bootstrap_can_create_the_first_security_administrator(monkeypatch):
    """X-4, issue 14 item 2: only a security administrator appoints security and audit administrators, so the
    first one comes from the console with the system administrator, in the same transaction."""
    monkeypatch.setenv("XINYUAN_BOOTSTRAP_PASSWORD", "Bootstrap-Pass-2026")
    monkeypatch.setenv("XINYUAN_BOOTSTRAP_SECURITY_PASSWORD", "Security-Pass-2026")
    with pytest.raises(CommandError, match="同时给出"):
        call_command("bootstrap", unit_name="某区中心", unit_code="330107", username="admin", full_name="张三",
                     security_username="sec")  # fmt: skip
    call_command("bootstrap", unit_name="某区中心", unit_code="330107", username="admin", full_name="张三",
                 security_username="sec", security_full_name="李安全")  # fmt: skip
    security = User.objects.get(username="sec")
    assert security.check_password("Security-Pass-2026")
    assert [a.role.code for a in Assignment.objects.filter(user=security)] == ["security_admin"]
    assert [a.role.code for a in Assignment.objects.filter(user__username="admin")] == ["system_admin"]


@pytest.mark.django_db
def test_bootstrap_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("XINYUAN_BOOTSTRAP_PASSWORD", "123")
    with pytest.raises(CommandError, match="密码"):
        call_command("bootstrap", unit_name="某区中心", unit_code="330106", username="admin", full_name="张三")
    assert not OrgUnit.objects.exists()


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_has_one_login_per_role():
    """The units and logins every part of the demo builds on; the whole demo is loaded by test_smoke_demo."""
    call_command("seed_demo", part="base")
    call_command("seed_demo")
    assert OrgUnit.objects.filter(code="DEMO-D").count() == 1
    assert OrgUnit.objects.filter(path__startswith=OrgUnit.objects.get(code="DEMO-D").path).count() == 16
    assert OrgUnit.objects.filter(kind="community_room").count() == 9
    assert OrgUnit.objects.filter(kind="committee").count() == 6
    roles = set(Assignment.objects.values_list("role__code", flat=True))
    assert roles >= {role for _, _, role, _ in DEMO_LOGINS}
    assert Assignment.objects.filter(user__username="counsellor").count() == 2
    assert_demo_names_match_sex()


def assert_demo_names_match_sex():
    """Issue 13 item 10: a demo person whose given name says one sex is recorded with that sex (clients,
    members, booking contacts)."""
    from apps.appointments.models import Appointment
    from apps.clients.models import Client
    from apps.core.management.commands.seed_demo import GIVEN_FEMALE, GIVEN_MALE
    from apps.core.scoping import unscoped
    from apps.membership.models import Application, Member

    sex_of = {**dict.fromkeys(GIVEN_MALE, "male"), **dict.fromkeys(GIVEN_FEMALE, "female")}
    people = []
    with unscoped("test: demo names"):
        people += [(c.name, c.gender) for c in Client.objects.all()]
        people += [(m.name, m.gender) for m in Member.objects.all()]
        people += [(a.name, a.gender) for a in Application.objects.all()]
        people += [(a.contact_name, json.loads(a.basic_info or "{}").get("gender")) for a in Appointment.objects.all()]
    judged = [(name, gender) for name, gender in people if sex_of.get(name[1:])]
    assert len(judged) > 20
    assert [(name, gender) for name, gender in judged if sex_of[name[1:]] != gender] == []


@pytest.mark.django_db
def test_city_scale_builder_keeps_paths_consistent():
    counts = build_city(districts=2, streets=4, communities=8, staff_per_community=2)
    assert counts == {"units": 1 + 2 + 4 + 8, "users": 2 + 4 + 16}
    for unit in OrgUnit.objects.select_related("parent"):
        expected = f"{unit.parent.path}{unit.pk}/" if unit.parent else f"/{unit.pk}/"
        assert unit.path == expected and unit.depth == expected.count("/") - 2
    # the sequence moved past the explicit ids: the normal service still creates units
    from apps.orgs.services import do_create_unit

    do_create_unit(actor=None, parent=OrgUnit.objects.get(code="CITY"), kind="district_centre", name="新区", code="N")


def test_check_deploy_passes_with_production_settings(tmp_path):
    """`manage.py check --deploy` passes with production settings: no warnings at all."""
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a deployment check.
    dropped = ("DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(production_env(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_tests_never_queue_tasks_for_the_demo_worker(private_task_queue):
    """X-5: background tasks queued by the test suite stay out of var/huey.sqlite3, which make run's worker reads."""
    from django.conf import settings
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True  # tests toggle immediate mode; huey then rebuilds its storage
    HUEY.immediate = False
    assert HUEY.storage.filename == private_task_queue
    assert private_task_queue != settings.HUEY.get("filename")
