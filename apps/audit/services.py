"""Writing the audit log: one chained entry per event, inside the caller's transaction.

Every write takes the chain lock, reads the last entry and appends the next one in the same
transaction, so concurrent writers can neither fork nor reorder the chain:

* PostgreSQL: ``pg_advisory_xact_lock`` on a fixed key, held until the *outermost* transaction
  commits or rolls back. Writers of audit entries are therefore serialised from their first
  audit write to their commit; keep transactions that audit short. Run at READ COMMITTED
  (Django's default): under REPEATABLE READ the last entry would be read from a stale snapshot
  and the write would fail on the unique ``seq`` rather than fork the chain.
* SQLite: the settings open every transaction with ``BEGIN IMMEDIATE``, which already takes the
  database's single write lock (``apps.audit.checks`` warns when that setting is missing).

The entry is written in the caller's transaction (a savepoint inside it): if the audit write
fails, the exception propagates and the business change rolls back with it. Nothing here
catches database errors.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone

from apps.core.access import active_grant

from .chain import GENESIS, clean_ip, clean_text, compute_hash, entry_content, json_safe
from .choices import AuditAction, AuditOutcome
from .keys import seal
from .masking import mask_changes
from .models import AuditEntry

# pg_advisory_xact_lock key of the audit chain ("XYAUDIT1" in ASCII).
CHAIN_LOCK_KEY = 0x5859_4155_4449_5431

EXPORT_MAX_ROWS = 100_000


def client_ip(request) -> str | None:
    """The client's IP as seen by the first proxy we trust (issue 14 item 5).

    ``TRUSTED_PROXY_COUNT`` (default 0) is the number of reverse proxies in front of the app that
    append the address they received from to ``X-Forwarded-For``. With 0 the header is ignored and
    ``REMOTE_ADDR`` is the client; with N the client is the Nth entry from the *right* -- the one
    the outermost trusted proxy wrote. Entries further left were written by the client and are never
    believed. A header with fewer than N entries means a proxy is missing: ``REMOTE_ADDR`` is used.
    Every IP the app reads (audit log, rate limits, axes lockout) goes through this function.
    """
    if request is None:
        return None
    meta = getattr(request, "META", {})
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count > 0:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            forwarded = clean_ip(hops[-count])
            if forwarded:
                return forwarded
    return clean_ip(meta.get("REMOTE_ADDR"))


def _lock_chain(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the transaction began with BEGIN IMMEDIATE and holds the only write lock.


def chain_tail(using: str | None = None) -> tuple[int, str]:
    """``(seq, entry_hash)`` of the last entry, or ``(0, GENESIS)`` for an empty log."""
    last = AuditEntry.objects.using(using).order_by("-seq").values_list("seq", "entry_hash").first()
    return last or (0, GENESIS)


def _actor(actor):
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor


def _where(user, unit) -> tuple[int | None, str, str, str]:
    """``(unit id, unit name, unit path, role code)`` the actor acts through right now.

    An explicit ``unit`` wins; else the active grant; else, for an account without any active
    grant, its home unit (so the auditors of that subtree see its logins).
    """
    grant = active_grant(user) if user is not None else None
    role_code = grant.role_code if grant else ""
    if unit is not None:
        return unit.pk, unit.name, unit.path, role_code
    if grant is not None:
        return grant.unit_id, grant.unit_name, grant.unit_path, role_code
    home = getattr(user, "unit", None) if user is not None else None
    if home is not None:
        return home.pk, home.name, home.path, ""
    return None, "", "", ""


def log_event(
    *,
    actor,
    action: str,
    obj=None,
    outcome: str = AuditOutcome.SUCCESS,
    changes: dict | None = None,
    purpose: str = "",
    request=None,
    unit=None,
    label: str = "",
    object_type: str = "",
    object_id: str = "",
    ip_address: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit chain in the current transaction and return it.

    ``actor`` is a user or None for the system (an anonymous user counts as None). ``obj`` fills
    object type (``app_label.model``), id and label unless they are given. ``changes`` maps a
    field to ``{"before": x, "after": y}``; values of sensitive fields (``apps.audit.masking``)
    are masked. ``request`` supplies the IP unless ``ip_address`` is given. ``unit`` (an
    ``OrgUnit``) overrides the actor's active unit, e.g. for system actions done for a unit.

    Raises ``ValueError`` for an unknown action or outcome; database errors propagate so the
    caller's transaction rolls back.
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    if outcome not in AuditOutcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if changes is not None and not isinstance(changes, dict):
        raise ValueError("changes must be a dict of field → {'before': …, 'after': …}")
    user = _actor(actor)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or ("" if obj.pk is None else str(obj.pk))
        label = label or str(obj)
    unit_id, unit_name, unit_path, role_code = _where(user, unit)
    entry = AuditEntry(
        actor=user,
        actor_username=clean_text(user.get_username() if user else "", 150),
        unit_id=unit_id,
        unit_name=clean_text(unit_name, 100),
        unit_path=clean_text(unit_path, 255),
        role_code=clean_text(role_code, 40),
        action=str(action),
        object_type=clean_text(object_type, 100),
        object_id=clean_text(object_id, 64),
        object_label=clean_text(label, 200),
        outcome=str(outcome),
        ip_address=clean_ip(ip_address) if ip_address else client_ip(request),
        purpose=clean_text(purpose, 500),
        changes=mask_changes(object_type, json_safe(changes or {})),
    )
    using = router.db_for_write(AuditEntry)
    with transaction.atomic(using=using):
        _lock_chain(using)
        last_seq, last_hash = chain_tail(using)
        entry.seq = last_seq + 1
        entry.prev_hash = last_hash
        entry.created_at = timezone.now()
        entry.entry_hash = compute_hash(entry_content(entry))
        entry.mac_key_id, entry.entry_mac = seal(settings.AUDIT_HMAC_KEYS, entry.seq, entry.entry_hash)
        entry.save(using=using)
    return entry


def diff(before: dict, after: dict) -> dict:
    """``{field: {"before": old, "after": new}}`` for the fields whose values differ."""
    before, after = json_safe(dict(before or {})), json_safe(dict(after or {}))
    changes = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old != new or type(old) is not type(new):
            changes[field] = {"before": old, "after": new}
    return changes


def snapshot(obj, fields=None, exclude=()) -> dict:
    """The values of ``obj``'s concrete fields (foreign keys as ids), for ``log_change``."""
    values = {}
    for field in obj._meta.concrete_fields:
        if (fields is not None and field.name not in fields) or field.name in exclude:
            continue
        values[field.name] = getattr(obj, field.attname)
    return values


def log_change(actor, obj, before: dict, after: dict, request=None, *, action=None, purpose="") -> AuditEntry | None:
    """Record a change of ``obj``: only the fields that differ between ``before`` and ``after``.

    The action is ``create`` when ``before`` is empty, ``delete`` when ``after`` is empty and
    ``update`` otherwise, unless given. An update that changed nothing writes nothing and returns
    None. For a deletion call it before ``obj.delete()``, which forgets the primary key.
    """
    changes = diff(before, after)
    if action is None:
        action = AuditAction.CREATE if not before else AuditAction.DELETE if not after else AuditAction.UPDATE
    if action == AuditAction.UPDATE and not changes:
        return None
    return log_event(actor=actor, action=action, obj=obj, changes=changes, request=request, purpose=purpose)


def log_read(actor, obj, purpose: str = "", request=None) -> AuditEntry:
    """Record that ``actor`` read sensitive data of ``obj`` (and why, when known)."""
    return log_event(actor=actor, action=AuditAction.READ_SENSITIVE, obj=obj, purpose=purpose, request=request)


def log_denial(request, status: int) -> AuditEntry:
    """Record a request refused with 403, or a 404 on a route that matched (out of scope or missing)."""
    match = getattr(request, "resolver_match", None)
    pk = match.kwargs.get("pk", "") if match else ""
    return log_event(
        actor=getattr(request, "user", None),
        action=AuditAction.PERMISSION_DENIED,
        outcome=AuditOutcome.DENIED,
        request=request,
        object_type=match.view_name if match and match.view_name else "url",
        object_id=str(pk),
        label=f"{status} {request.method} {request.path}",
    )


def do_export_entries(*, actor, rows, fmt: str, purpose: str = "", description: str = "", request=None) -> int:
    """Check that an export of ``rows`` may run and record it; return the number of rows.

    Refuses more than ``EXPORT_MAX_ROWS`` rows (narrow the filter). The ``export`` entry is written
    before the file is produced, so an export that could not be audited never happens.
    """
    if fmt not in ("csv", "xlsx"):
        raise ValidationError("请选择导出格式：CSV 或 Excel。", code="invalid")
    count = rows[: EXPORT_MAX_ROWS + 1].count()
    if count > EXPORT_MAX_ROWS:
        raise ValidationError(
            f"符合条件的记录超过 {EXPORT_MAX_ROWS} 条，请缩小日期范围或增加筛选条件后再导出。", code="too_many"
        )
    log_event(
        actor=actor,
        action=AuditAction.EXPORT,
        request=request,
        object_type=AuditEntry._meta.label_lower,
        label=f"审计日志导出（{fmt.upper()}，{count} 条）{description}",
        purpose=purpose,
    )
    return count
