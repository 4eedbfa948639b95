"""The authorization matrix: every role × every URL × every method × every position in the tree.

Generated from the URLconf at test time. Each URL's view declares its permission
(``apps.core.perms``); this test checks that the declaration is what actually happens:

* a user holds one role at unit O (``tree.s1``); targets are O itself, a child (``c1``), a sibling
  (``s2``), the parent (``district``) and a unit of another tree (``other``);
* a request is *allowed* when the role holds the declared permission and the target is O or below
  it, and *denied* (403/404, or the login page for anonymous users) otherwise;
* every list a user may open is searched for the names of out-of-scope units and accounts: none
  may appear (0 leaks).

A new URL must be described in ``TARGETS`` below (how to point it at an object in a given unit),
otherwise this test fails — so nobody can add an endpoint without joining the matrix.
"""

import datetime
import functools
import json

import pytest
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse

from apps.accounts.models import Assignment, Role
from apps.accounts.roles import BUILTIN_ROLES
from apps.core.checks import declared_permissions, iter_patterns
from apps.core.perms import AUTHENTICATED, PUBLIC
from conftest import make_user
from tests.authz import Target, app_targets

POSITIONS = ("own", "child", "sibling", "parent", "other")
IN_SCOPE = {"own", "child"}


class Rollback(Exception):
    pass


def unit_pk(world, unit):
    return {"pk": unit.pk}


def user_pk(world, unit):
    return {"pk": world.resident[unit.pk].pk}


def assignment_pk(world, unit):
    return {"pk": world.resident_assignment[unit.pk].pk}


def override_pk(world, unit):
    from apps.workdays.models import CalendarOverride

    row, _ = CalendarOverride.objects.get_or_create(
        date=datetime.date(2099, 1, 1), defaults={"is_workday": False, "name": "矩阵"}
    )
    return {"pk": row.pk}


def notification_pk(world, unit):
    from apps.notifications.models import Notification

    row = Notification.objects.create(recipient=world.resident[unit.pk], title="矩阵通知", body="")
    return {"pk": row.pk}


def export_pk(world, unit):
    from django.utils import timezone

    from apps.exports.models import ExportJob

    resident = world.resident[unit.pk]
    row = ExportJob.objects.create(
        requested_by=resident,
        unit=unit,
        unit_path=unit.path,
        dataset="users",
        format="xlsx",
        reason="矩阵测试",
        expires_at=timezone.now(),
    )
    return {"pk": row.pk}


def audit_pk(world, unit):
    from apps.audit.services import log_event

    entry = log_event(actor=None, action="other", unit=unit, label="矩阵审计条目")
    return {"pk": entry.pk}


def client_pk(world, unit):
    return {"pk": world.client[unit.pk].pk}


def role_pk(world, unit):
    return {"pk": Role.objects.get(code="counsellor").pk}


TARGETS: dict[str, Target] = {
    # pages
    "core:home": Target(),
    "accounts:login": Target(),
    "accounts:logout": Target(),
    "accounts:switch": Target(),
    "accounts:profile": Target(),
    "accounts:user-list": Target(),
    "accounts:user-create": Target(body=lambda w, u: {"unit": u.pk, "username": "mx_new", "full_name": "矩阵"}),
    "accounts:user-detail": Target(user_pk),
    "accounts:user-edit": Target(user_pk),
    "accounts:user-disable": Target(user_pk),
    "accounts:user-enable": Target(user_pk),
    "accounts:user-password": Target(user_pk),
    "accounts:user-assign": Target(user_pk),
    "accounts:assignment-revoke": Target(assignment_pk),
    "accounts:role-list": Target(),
    "accounts:api-token": Target(),
    "accounts:two-factor-setup": Target(),
    "accounts:two-factor-verify": Target(),
    "accounts:reauth": Target(),
    "accounts:lockouts": Target(),
    "accounts:lockout-reset": Target(),
    "accounts:two-factor-reset": Target(user_pk),
    "orgs:home": Target(),
    "orgs:unit-detail": Target(unit_pk),
    "orgs:unit-children": Target(unit_pk),
    "orgs:unit-create": Target(unit_pk),
    "orgs:unit-rename": Target(unit_pk),
    "orgs:unit-move": Target(unit_pk),
    "orgs:unit-deactivate": Target(unit_pk),
    "orgs:unit-reactivate": Target(unit_pk),
    "set_language": Target(),
    "healthz": Target(),
    "favicon": Target(),
    # API
    "api-root": Target(),
    "api-schema": Target(),
    "api-docs": Target(),
    "orgunit-list": Target(body=lambda w, u: {"parent": u.pk, "kind": "community_room", "name": "矩阵", "code": "MX"}),
    "orgunit-detail": Target(unit_pk),
    "orgunit-move": Target(unit_pk),
    "orgunit-deactivate": Target(unit_pk),
    "orgunit-reactivate": Target(unit_pk),
    "user-list": Target(body=lambda w, u: {"unit": u.pk, "username": "mx_api", "full_name": "矩阵", "password": "x"}),
    "user-detail": Target(user_pk),
    "user-set-active": Target(user_pk),
    "assignment-list": Target(
        body=lambda w, u: {"user": w.resident[u.pk].pk, "unit": u.pk, "role": Role.objects.get(code="volunteer").pk}
    ),
    "assignment-detail": Target(assignment_pk),
    "role-list": Target(),
    "role-detail": Target(role_pk, global_object=True),
    # clients
    "clients:client-list": Target(),
    "clients:client-create": Target(body=lambda w, u: {"unit": u.pk, "name": "矩阵新来访者"}),
    "clients:client-detail": Target(client_pk),
    "clients:client-edit": Target(client_pk),
    "clients:client-unmask": Target(client_pk),
    "clients:emergency": Target(),
    "clients:client-transfer": Target(client_pk),
    "clients:client-merge": Target(client_pk),
    "clients:registration-form": Target(client_pk),
    "client-list": Target(body=lambda w, u: {"unit": u.pk, "name": "矩阵接口来访者"}),
    "client-detail": Target(client_pk),
    # audit
    "audit:entry-list": Target(),
    "audit:entry-detail": Target(audit_pk),
    "audit:entry-export": Target(),
    "audit:verify": Target(),
    "auditentry-list": Target(),
    "auditentry-detail": Target(audit_pk),
    # exports
    "exports:job-list": Target(),
    "exports:request-xlsx": Target(lambda w, u: {"dataset": "users"}, global_object=True),
    "exports:request-csv": Target(lambda w, u: {"dataset": "org_units"}, global_object=True),
    "exports:download": Target(export_pk, foreign_object=True),
    # notifications: a person sees only their own
    "notifications:inbox": Target(),
    "notifications:mark-all-read": Target(),
    "notifications:mark-read": Target(notification_pk, foreign_object=True),
    "notification-list": Target(),
    "notification-read-all": Target(),
    "notification-unread-count": Target(),
    "notification-detail": Target(notification_pk, foreign_object=True),
    "notification-read": Target(notification_pk, foreign_object=True),
    # working-day calendar
    "workdays:override-list": Target(),
    "workdays:override-create": Target(),
    "workdays:override-edit": Target(override_pk, global_object=True),
    "workdays:override-delete": Target(override_pk, global_object=True),
    "workdays:override-import": Target(),
    "workdays:year": Target(lambda w, u: {"year": 2025}, global_object=True),
    "workdays:calculator": Target(),
    "calendar-override-list": Target(),
    "calendar-override-detail": Target(override_pk, global_object=True),
    "calendar-override-import-notice": Target(),
    "workday-deadline": Target(),
}


TARGETS.update(app_targets())


class World:
    """The tree, one resident account per unit (the objects URLs point at) and leak markers."""

    def __init__(self, tree):
        self.tree = tree
        self.units = {
            "own": tree.s1,
            "child": tree.c1,
            "sibling": tree.s2,
            "parent": tree.district,
            "other": tree.other,
        }
        volunteer = Role.objects.get(code="volunteer")
        self.resident = {}
        self.resident_assignment = {}
        for position, unit in self.units.items():
            user = make_user(f"resident_{position}", unit, None, full_name=f"驻留{position}")
            self.resident[unit.pk] = user
            self.resident_assignment[unit.pk] = Assignment.objects.create(user=user, unit=unit, role=volunteer)
        from apps.clients.services import do_register_client

        self.client = {
            unit.pk: do_register_client(actor=None, unit=unit, data={"name": f"矩阵来访者{position}"})
            for position, unit in self.units.items()
        }
        # Strings that must never appear to a user assigned at ``own``.
        self.markers = [tree.s2.name, tree.c3.name, tree.district.name, tree.other.name, tree.city.name]
        self.markers += [f"resident_{p}" for p in ("sibling", "parent", "other")]
        self.markers += [f"矩阵来访者{p}" for p in ("sibling", "parent", "other")]


def url_cases():
    """Every named, non-format-suffix route of the URLconf with its callback."""
    cases = []
    for route, name, callback in iter_patterns(get_resolver().url_patterns):
        if "(?P<format>" in route or "<drf_format_suffix" in route:
            continue
        cases.append((route, name, callback))
    return cases


def methods_for(callback) -> dict[str, str]:
    """{http method: declared permission} for a route."""
    declared = declared_permissions(callback)
    assert declared is not None, "undeclared view"
    if "*" in declared:  # function view: one permission for every method it answers
        return {"get": declared["*"], "post": declared["*"]}
    actions = getattr(callback, "actions", None)
    if actions:
        # DRF adds HEAD as a copy of GET on first use; it is checked through GET.
        return {method: declared[action] for method, action in actions.items() if method not in ("head", "options")}
    return dict(declared)


def persona_codes() -> list[str]:
    """ "anonymous" and one built-in role per distinct permission set (the matrix runs once per persona, so the
    xdist workers share it)."""
    seen, codes = set(), ["anonymous"]
    for spec in BUILTIN_ROLES:
        perms = frozenset(spec.permissions)
        if perms not in seen:
            seen.add(perms)
            codes.append(spec.code)
    return codes


def persona(tree, code: str):
    """(code, user assigned at ``own`` (s1) or None, permission set) for one persona."""
    if code == "anonymous":
        return code, None, frozenset()
    role = Role.objects.get(code=code)
    return code, make_user(f"p_{code}", tree.s1, code), frozenset(role.permissions)


def expected_allowed(permission: str, perms: frozenset, position: str | None, target: Target, anonymous: bool) -> bool:
    if permission == PUBLIC:
        return True
    if anonymous:
        return False
    if target.foreign_object:
        return False
    if permission == AUTHENTICATED:
        return True
    if permission not in perms:
        return False
    if position is None or target.global_object:
        return True
    return position in IN_SCOPE


def positions_for(permission: str, perms: frozenset, anonymous: bool, role_code: str) -> tuple[str, ...]:
    """Where to aim one persona's requests to a route that points at an object in a unit.

    * Without the permission every position must be denied: the persona's own unit (where a scope-only
      check would let it through) and another tree stand for all five. Anonymous requests never reach
      a scope check at all.
    * With it, the first persona holding the permission (``designated_persona``) is checked at all five
      positions; every other holder at its own unit (allowed) and a sibling (denied). The views and the
      scope code are the same for every holder (all personas sit at the same unit), so the five-way check
      runs once per permission, and each holder still proves both directions.
    """
    if anonymous:
        return ("own",)
    if permission not in perms:
        return ("own", "other")
    if designated_persona(permission) == role_code:
        return POSITIONS
    return ("own", "sibling")


def designated_persona(permission: str) -> str:
    """The first persona (in ``persona_codes`` order) whose role holds ``permission``."""
    return _designated().get(permission, "")


@functools.cache
def _designated() -> dict[str, str]:
    first = {}
    for spec in BUILTIN_ROLES:
        if spec.code in persona_codes():
            for permission in spec.permissions:
                first.setdefault(permission, spec.code)
    return first


def send(client, method, url, body, is_api):
    """Send one request and roll back whatever it wrote, so every cell starts from the same world."""
    box = {}
    try:
        with transaction.atomic():
            if method == "get":
                box["response"] = client.get(url)
            elif is_api:
                box["response"] = getattr(client, method)(
                    url, data=json.dumps(body or {}), content_type="application/json"
                )
            else:
                box["response"] = getattr(client, method)(url, data=body or {})
            raise Rollback
    except Rollback:
        pass
    return box["response"]


def outcome(response, anonymous: bool) -> str:
    status = response.status_code
    if status in (401, 403, 404):
        return "denied"
    if anonymous and status == 302 and "/accounts/login/" in response.get("Location", ""):
        return "denied"
    if status == 405:
        return "n/a"
    return "allowed"


def build_url(name: str, kwargs: dict | None) -> str:
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
def test_every_url_is_in_the_matrix():
    """S-ORG-2: a URL added without a matrix entry fails the suite."""
    missing = sorted({name or route for route, name, _ in url_cases() if name not in TARGETS})
    assert not missing, f"URLs missing from the authorization matrix: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("code", persona_codes())
def test_authorization_matrix(tree, code):
    """S-ORG-2: every role × URL × method × position is allowed or denied exactly as declared; 0 leaks."""
    world = World(tree)
    failures, leaks, cells = [], [], 0
    for role_code, user, perms in [persona(tree, code)]:
        client = Client()
        if user is not None:
            client.force_login(user)
        for route, name, callback in url_cases():
            target = TARGETS[name]
            is_api = route.startswith("api/")
            for method, permission in methods_for(callback).items():
                positions = POSITIONS if (target.kwargs or (method != "get" and target.body)) else (None,)
                if positions != (None,) and permission not in (PUBLIC, AUTHENTICATED):
                    positions = positions_for(permission, perms, user is None, role_code)
                for position in positions:
                    unit = world.units[position] if position else None
                    kwargs = target.kwargs(world, unit) if (target.kwargs and unit) else None
                    body = target.body(world, unit) if (target.body and unit and method != "get") else None
                    url = build_url(name, kwargs)
                    response = send(client, method, url, body, is_api)
                    if permission == PUBLIC:
                        if user is not None:  # e.g. logout: sign the persona in again
                            client.force_login(user)
                        continue
                    got = outcome(response, user is None)
                    if got == "n/a":
                        continue
                    cells += 1
                    want = expected_allowed(permission, perms, position, target, user is None)
                    if want and got == "denied":
                        failures.append(f"{role_code} {method.upper()} {url} [{position}] denied, expected allowed")
                    if not want and got == "allowed":
                        # A body-targeted create may answer 200/400 with a validation error: that is a
                        # refusal too, as long as nothing outside scope was written (checked below).
                        if body is not None and response.status_code in (200, 400):
                            continue
                        failures.append(
                            f"{role_code} {method.upper()} {url} [{position}] allowed ({response.status_code}), "
                            "expected denied"
                        )
                    if got == "allowed" and method == "get" and user is not None:
                        content = response.content.decode("utf-8", "replace")
                        if response.get("Content-Type", "").startswith("application/json"):
                            content = json.dumps(json.loads(content or "null"), ensure_ascii=False)
                        for marker in world.markers:
                            if marker in content:
                                leaks.append(f"{role_code} GET {url}: shows {marker!r}")
    assert cells > 100
    assert not leaks, "\n".join(leaks[:50])
    assert not failures, f"{len(failures)} wrong cells:\n" + "\n".join(failures[:80])


@pytest.mark.django_db
def test_denied_creates_write_nothing_outside_scope(tree):
    """S-ORG-2: a create aimed at a unit outside the actor's subtree never writes."""
    from apps.accounts.models import User
    from apps.orgs.models import OrgUnit

    world = World(tree)
    manager = make_user("mx_manager", tree.s1, "street_manager")
    client = Client()
    client.force_login(manager)
    for position in ("sibling", "parent", "other"):
        unit = world.units[position]
        client.post(
            "/accounts/users/new/",
            {"unit": unit.pk, "username": f"mx_{position}", "full_name": "越权", "password": "Matrix-Pass-2026"},
        )
        client.post(
            "/api/users/",
            {"unit": unit.pk, "username": f"mxa_{position}", "full_name": "越权", "password": "Matrix-Pass-2026"},
            content_type="application/json",
        )
        client.post(
            "/api/org-units/",
            {"parent": unit.pk, "kind": "community_room", "name": f"越权{position}", "code": f"MX-{position}"},
            content_type="application/json",
        )
        client.post("/clients/new/", {"unit": unit.pk, "name": f"越权来访者{position}", "gender": "unknown"})
        client.post(
            "/api/clients/", {"unit": unit.pk, "name": f"越权来访者{position}"}, content_type="application/json"
        )
    from apps.clients.models import Client as ClientRecord
    from apps.core.scoping import unscoped

    with unscoped("test assertion over every unit"):
        assert ClientRecord.objects.count() == 5  # the World's own, one per unit
    assert not User.objects.filter(username__startswith="mx_").exclude(username="mx_manager").exists()
    assert not User.objects.filter(username__startswith="mxa_").exists()
    assert not OrgUnit.objects.filter(code__startswith="MX-").exists()
