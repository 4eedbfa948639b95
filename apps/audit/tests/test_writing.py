import datetime as dt

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError
from django.test import RequestFactory

from apps.audit import services
from apps.audit.chain import GENESIS, canonical_json, compute_hash, entry_content, json_safe
from apps.audit.choices import AuditAction, AuditOutcome
from apps.audit.masking import HIDDEN, mask_changes, register_sensitive
from apps.audit.models import AppendOnlyError, AuditEntry
from apps.audit.services import client_ip, diff, log_change, log_event, log_read, snapshot
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit
from apps.orgs.services import do_rename_unit

from .helpers import TABLE


def test_entries_are_chained_in_seq_order(tree, counsellor_a):
    """X-4: each entry seals its predecessor; seq runs 1, 2, 3 without gaps."""
    tail_seq, tail_hash = services.chain_tail()  # the tree fixture's services logged already
    first = log_event(actor=counsellor_a, action=AuditAction.READ_SENSITIVE, obj=tree.c1, purpose="回访")
    second = log_event(actor=None, action=AuditAction.OTHER, label="系统任务")
    assert (first.seq, second.seq) == (tail_seq + 1, tail_seq + 2)
    assert first.prev_hash == tail_hash and second.prev_hash == first.entry_hash
    assert AuditEntry.objects.get(seq=1).prev_hash == GENESIS
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, second.seq + 1))
    for entry in AuditEntry.objects.order_by("seq"):
        assert entry.entry_hash == compute_hash(entry_content(entry))


def test_entry_records_who_where_what(tree, counsellor_a):
    """X-4: actor, username copy, active unit and role at the time, object, outcome, purpose, UTC time."""
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    entry = log_event(
        actor=counsellor_a, action=AuditAction.READ_SENSITIVE, obj=tree.c1, request=request, purpose="督导"
    )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor_id == counsellor_a.pk and entry.actor_username == "counsellor_a"
    assert (entry.unit_id, entry.unit_name, entry.unit_path) == (tree.c1.pk, "一社区室", tree.c1.path)
    assert entry.role_code == "counsellor"
    assert (entry.object_type, entry.object_id, entry.object_label) == ("orgs.orgunit", str(tree.c1.pk), "一社区室")
    assert entry.outcome == AuditOutcome.SUCCESS and entry.purpose == "督导"
    assert entry.ip_address == "203.0.113.7"
    assert entry.created_at.utcoffset() == dt.timedelta(0)


def test_copies_survive_renames(tree, counsellor_a):
    """X-4: the unit name is a copy taken at write time."""
    entry = log_event(actor=counsellor_a, action=AuditAction.OTHER)
    do_rename_unit(actor=None, unit=tree.c1, name="改名后的社区", code="T-C1")
    assert AuditEntry.objects.get(pk=entry.pk).unit_name == "一社区室"


def test_system_and_explicit_unit(tree, nobody):
    """X-4: the system has no actor; an explicit unit wins; an account without a grant falls back to its home unit."""
    system = log_event(actor=None, action=AuditAction.OTHER, unit=tree.s2)
    assert system.actor_id is None and system.actor_username == "" and system.unit_path == tree.s2.path
    homeless = log_event(actor=nobody, action=AuditAction.LOGIN)
    assert homeless.unit_id == tree.c1.pk and homeless.role_code == ""


def test_active_grant_decides_unit_and_role(tree, counsellor_a):
    """X-4: the unit and role recorded are those of the assignment the user acts through."""
    from apps.accounts.models import Assignment, Role

    second = Assignment.objects.create(user=counsellor_a, unit=tree.c2, role=Role.objects.get(code="community_worker"))
    counsellor_a.active_assignment_id = second.pk
    entry = log_event(actor=counsellor_a, action=AuditAction.OTHER)
    assert (entry.unit_id, entry.role_code) == (tree.c2.pk, "community_worker")


def test_unknown_action_or_outcome_is_refused(db):
    """X-4: only the listed actions and outcomes are written."""
    with pytest.raises(ValueError, match="action"):
        log_event(actor=None, action="rename")
    with pytest.raises(ValueError, match="outcome"):
        log_event(actor=None, action=AuditAction.OTHER, outcome="maybe")
    assert not AuditEntry.objects.exists()


def test_log_change_records_only_changed_fields(tree, district_admin):
    """X-4: before/after of the changed fields only; create and delete are told apart."""
    before = snapshot(tree.c1)
    do_rename_unit(actor=district_admin, unit=tree.c1, name="新名字", code="T-C1")
    entry = log_change(district_admin, tree.c1, before, snapshot(tree.c1))
    assert entry.action == AuditAction.UPDATE
    assert entry.changes == {
        "name": {"before": "一社区室", "after": "新名字"},
        "version": {"before": 1, "after": 2},
    }
    assert log_change(district_admin, tree.c1, snapshot(tree.c1), snapshot(tree.c1)) is None
    created = log_change(district_admin, tree.c2, {}, {"name": "二社区室", "parent": tree.s1})
    assert created.action == AuditAction.CREATE
    assert created.changes["parent"] == {"before": None, "after": tree.s1.pk}
    deleted = log_change(district_admin, tree.c3, {"name": "三社区室"}, {})
    assert deleted.action == AuditAction.DELETE


def test_diff_normalises_values():
    """X-4: dates, decimals and model-free values are compared in their stored JSON form."""
    import decimal

    changes = diff(
        {"day": dt.date(2026, 1, 2), "amount": decimal.Decimal("1.50"), "same": 1, "flag": 1},
        {"day": dt.date(2026, 1, 3), "amount": decimal.Decimal("1.50"), "same": 1, "flag": True},
    )
    assert changes == {"day": {"before": "2026-01-02", "after": "2026-01-03"}, "flag": {"before": 1, "after": True}}
    assert json_safe({"x": {1, 2}, "big": 1e20, "f": 2.5}) == {"x": [1, 2], "big": "1e+20", "f": 2.5}


def test_sensitive_fields_are_masked(tree, district_admin):
    """X-4: registered fields never reach the log in clear, not even through log_event(changes=...)."""
    entry = log_change(
        district_admin,
        district_admin,
        {"password": "argon2$old", "mobile": "13812345678", "full_name": "甲"},
        {"password": "argon2$new", "mobile": "13987654321", "full_name": "乙"},
    )
    stored = AuditEntry.objects.get(pk=entry.pk).changes
    assert stored["password"] == {"before": HIDDEN, "after": HIDDEN}
    assert stored["mobile"] == {"before": "138****5678", "after": "139****4321"}
    assert stored["full_name"] == {"before": "甲", "after": "乙"}
    raw = log_event(actor=None, action=AuditAction.UPDATE, obj=tree.c1, changes={"id_number": "110101199003071234"})
    assert raw.changes == {"id_number": "1101**********1234"}
    assert "13812345678" not in canonical_json(entry_content(entry)).decode()


def test_per_model_registration(db):
    """X-4: a module registers its own sensitive fields for its model only."""
    register_sensitive("orgs.orgunit", "code")
    try:
        assert mask_changes("orgs.orgunit", {"code": {"before": "A", "after": ""}}) == {
            "code": {"before": HIDDEN, "after": ""}
        }
        assert mask_changes("accounts.user", {"code": "A"}) == {"code": "A"}
    finally:
        from apps.audit import masking

        masking._per_model.pop(("orgs.orgunit", "code"))


def test_log_read(tree, counsellor_a):
    """X-4: a sensitive read records who read what and why."""
    entry = log_read(counsellor_a, tree.c1, purpose="个案督导")
    assert (entry.action, entry.purpose, entry.object_id) == (AuditAction.READ_SENSITIVE, "个案督导", str(tree.c1.pk))


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "198.51.100.9"}, "10.1.1.1"),
        (1, {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5, 198.51.100.9"}, "198.51.100.9"),
        (1, {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "garbage"}, "10.1.1.1"),
        (1, {"REMOTE_ADDR": "10.1.1.1"}, "10.1.1.1"),
        (0, {"REMOTE_ADDR": "2001:DB8:0:0::1"}, "2001:db8::1"),
        (0, {"REMOTE_ADDR": "not-an-ip"}, None),
    ],
)
def test_client_ip(settings, proxies, meta, expected):
    """X-4, issue 14 item 5: X-Forwarded-For counts only behind trusted proxies, read from the right."""
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    request.META.update(meta)
    assert client_ip(request) == expected


def test_entries_cannot_be_changed_through_the_orm(tree):
    """X-4: no code path updates or deletes an entry."""
    entry = log_event(actor=None, action=AuditAction.OTHER, label="原文")
    entry.object_label = "改"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_label="改")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_update([entry], ["object_label"])
    assert AuditEntry.objects.get(pk=entry.pk).object_label == "原文"


def test_actor_and_unit_with_history_cannot_be_deleted(tree, counsellor_a):
    """X-4: deleting an account or unit would orphan its history; deactivate instead."""
    log_event(actor=counsellor_a, action=AuditAction.LOGIN)
    with pytest.raises(ProtectedError):
        counsellor_a.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is installed on PostgreSQL only")
def test_postgresql_trigger_refuses_raw_update_and_delete(tree):
    """X-4: even raw SQL cannot UPDATE or DELETE audit rows on PostgreSQL."""
    entry = log_event(actor=None, action=AuditAction.OTHER, label="原文")
    for sql in (f"UPDATE {TABLE} SET object_label = 'x'", f"DELETE FROM {TABLE}"):  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.get(pk=entry.pk).object_label == "原文"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks exist on PostgreSQL only")
def test_postgresql_writer_holds_the_chain_lock_until_commit(tree):
    """X-4: the advisory transaction lock serialises writers until the writing transaction ends."""
    log_event(actor=None, action=AuditAction.OTHER)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
        )
        assert cursor.fetchone()[0] == 1


def _create_unit_with_audit(actor, parent, code):
    """A business action that audits itself in its own transaction, the way services should."""
    with transaction.atomic():
        unit = OrgUnit.objects.create(
            parent=parent,
            tenant_id=parent.tenant_id,
            kind=UnitKind.COMMUNITY_ROOM,
            name=f"社区{code}",
            code=code,
            path=f"{parent.path}new-{code}/",
            depth=parent.depth + 1,
        )
        log_change(actor, unit, {}, snapshot(unit))
        return unit


def test_business_change_and_audit_commit_together(tree, district_admin):
    """X-4: on success the change and its audit entry are both there."""
    unit = _create_unit_with_audit(district_admin, tree.s1, "AUD-OK")
    entry = AuditEntry.objects.get(object_type="orgs.orgunit", object_id=str(unit.pk))
    assert entry.action == AuditAction.CREATE and entry.changes["code"] == {"before": None, "after": "AUD-OK"}


def test_failed_audit_write_rolls_back_the_business_change(tree, district_admin, monkeypatch):
    """X-4: if the audit entry cannot be written, the business change is not written either."""
    log_event(actor=None, action=AuditAction.OTHER)
    count = AuditEntry.objects.count()
    # A stale tail makes the insert collide with the existing seq 1: a real database failure.
    monkeypatch.setattr(services, "chain_tail", lambda using=None: (0, GENESIS))
    with pytest.raises(IntegrityError):
        _create_unit_with_audit(district_admin, tree.s1, "AUD-FAIL")
    assert not OrgUnit.objects.filter(code="AUD-FAIL").exists()
    assert AuditEntry.objects.count() == count


def test_failed_hashing_rolls_back_the_business_change(tree, district_admin, monkeypatch):
    """X-4: any failure inside the audit write propagates; nothing of the business change remains."""

    def broken(content):
        raise RuntimeError("hash failure")

    count = AuditEntry.objects.count()
    monkeypatch.setattr(services, "compute_hash", broken)
    with pytest.raises(RuntimeError):
        _create_unit_with_audit(district_admin, tree.s1, "AUD-FAIL2")
    assert not OrgUnit.objects.filter(code="AUD-FAIL2").exists()
    assert AuditEntry.objects.count() == count


def test_sqlite_without_immediate_transactions_is_flagged(monkeypatch):
    """X-4: `manage.py check` warns when SQLite would not serialise audit writers."""
    from types import SimpleNamespace

    from apps.audit import checks

    sqlite = {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {}}
    monkeypatch.setattr(checks, "settings", SimpleNamespace(DATABASES={"default": sqlite}))
    assert [w.id for w in checks.check_sqlite_immediate()] == ["audit.W001"]
    sqlite["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    assert checks.check_sqlite_immediate() == []
