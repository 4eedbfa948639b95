"""Build long valid chains fast, and tamper with them the way someone with database access would."""

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.audit.chain import GENESIS, compute_hash, entry_content
from apps.audit.choices import AuditAction, AuditOutcome
from apps.audit.keys import seal
from apps.audit.models import AuditEntry
from apps.audit.services import chain_tail

TABLE = AuditEntry._meta.db_table
ACTIONS = AuditAction.values


def build_chain(count: int, *, actor=None, unit=None, start: dt.datetime | None = None, step=None) -> list[AuditEntry]:
    """Append ``count`` correctly chained entries with hashes computed here, in one bulk insert.

    Every other entry has ``actor``/``unit`` (when given) so that both nullable columns vary.
    """
    last_seq, prev = chain_tail()
    start = start or timezone.now()
    step = step or dt.timedelta(milliseconds=1)
    entries = []
    for i in range(1, count + 1):
        with_actor = i % 2 == 0
        entry = AuditEntry(
            seq=last_seq + i,
            created_at=start + step * i,
            actor=actor if with_actor else None,
            actor_username=actor.username if actor and with_actor else "",
            unit_id=unit.pk if unit and with_actor else None,
            unit_name=unit.name if unit and with_actor else "",
            unit_path=unit.path if unit and with_actor else "",
            role_code="counsellor" if with_actor else "",
            action=ACTIONS[i % len(ACTIONS)],
            object_type="orgs.orgunit",
            object_id=str(i),
            object_label=f"对象{i}",
            outcome=AuditOutcome.SUCCESS,
            ip_address=f"10.0.{i // 256 % 256}.{i % 256}" if i % 3 else "2001:db8::1",
            purpose="核查" if i % 5 == 0 else "",
            changes={"name": {"before": f"旧{i}", "after": f"新{i}"}, "score": {"before": i, "after": i + 0.5}},
            prev_hash=prev,
        )
        entry.entry_hash = compute_hash(entry_content(entry))
        entry.mac_key_id, entry.entry_mac = seal(settings.AUDIT_HMAC_KEYS, entry.seq, entry.entry_hash)
        prev = entry.entry_hash
        entries.append(entry)
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    return entries


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _placeholder(column: str) -> str:
    if connection.vendor == "postgresql" and column == "changes":
        return "CAST(%s AS jsonb)"
    if connection.vendor == "postgresql" and column == "ip_address":
        return "CAST(%s AS inet)"
    return "%s"


def _param(column: str, value):
    if column == "changes":
        return json.dumps(value, ensure_ascii=False)
    if column == "created_at":
        return connection.ops.adapt_datetimefield_value(value)
    return value


def disable_trigger() -> None:
    """PostgreSQL: switch the append-only trigger off for the rest of this test's transaction.

    PostgreSQL refuses ALTER TABLE while deferred foreign-key checks on the table are pending
    (the fixtures' services have written audit rows), so run those checks first.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {_q(TABLE)} DISABLE TRIGGER audit_entry_append_only")  # noqa: S608
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def start_empty_log() -> None:
    """Remove whatever the fixtures' services logged, so a test's chain starts at seq 1.

    Test-only, inside the test's transaction (rolled back at the end); disables the trigger.
    """
    disable_trigger()
    raw_delete("1 = 1", [])


def raw_update(seq: int, column: str, value) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_q(TABLE)} SET {_q(column)} = {_placeholder(column)} WHERE seq = %s",  # noqa: S608
            [_param(column, value), seq],
        )


def raw_delete(where: str, params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_q(TABLE)} WHERE {where}", params)  # noqa: S608


def raw_insert(values: dict) -> None:
    columns = list(values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_q(TABLE)} ({', '.join(_q(c) for c in columns)}) "  # noqa: S608
            f"VALUES ({', '.join(_placeholder(c) for c in columns)})",
            [_param(c, values[c]) for c in columns],
        )


def _renumber(where: str, params, delta: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_q(TABLE)} SET seq = seq + %s WHERE {where}", [delta, *params])  # noqa: S608


def row(seq: int) -> dict:
    return AuditEntry.objects.filter(seq=seq).values().get()


def edited_value(column: str, old, other_user_id: int | None, other_unit_id: int | None):
    """A different value for ``column`` of the kind an attacker would write."""
    if column in ("entry_hash", "prev_hash"):
        return hashlib.sha256(old.encode()).hexdigest()
    if column == "action":
        return AuditAction.OTHER if old != AuditAction.OTHER else AuditAction.LOGIN
    if column == "outcome":
        return AuditOutcome.DENIED
    if column == "created_at":
        return old + dt.timedelta(seconds=1)
    if column == "changes":
        return {**old, "name": {"before": "旧", "after": "改"}}
    if column == "ip_address":
        return "192.0.2.99"
    if column == "actor_id":
        return None if old is not None else other_user_id
    if column == "unit_id":
        return None if old is not None else other_unit_id
    return f"{old}改"


EDITABLE_COLUMNS = (
    "created_at",
    "actor_id",
    "actor_username",
    "unit_id",
    "unit_name",
    "unit_path",
    "role_code",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "outcome",
    "ip_address",
    "purpose",
    "changes",
    "prev_hash",
    "entry_hash",
)


def tamper_edit(seq: int, column: str, other_user_id=None, other_unit_id=None) -> None:
    old = row(seq)[column]
    raw_update(seq, column, edited_value(column, old, other_user_id, other_unit_id))


def tamper_delete(seq: int) -> None:
    raw_delete("seq = %s", [seq])


def tamper_truncate(keep: int) -> None:
    raw_delete("seq > %s", [keep])


def tamper_insert(seq: int) -> None:
    """Insert a forged, correctly hashed entry at ``seq``, linked to its predecessor; renumber the rest.

    The forger here also holds the HMAC key (the worst case), so only the chain can catch the insert;
    ``forge_tail`` is the forger without the key.
    """
    prev = row(seq - 1)["entry_hash"] if seq > 1 else GENESIS
    _renumber("seq >= %s", [seq], 1_000_000_000)
    _renumber("seq >= %s", [1_000_000_000], -999_999_999)
    forged = {
        "created_at": row(seq + 1)["created_at"],
        "actor_id": None,
        "actor_username": "forger",
        "unit_id": None,
        "unit_name": "",
        "unit_path": "",
        "role_code": "",
        "action": AuditAction.OTHER,
        "object_type": "",
        "object_id": "",
        "object_label": "伪造",
        "outcome": AuditOutcome.SUCCESS,
        "ip_address": None,
        "purpose": "",
        "changes": {},
        "prev_hash": prev,
    }
    entry_hash = compute_hash(forged)
    key_id, mac = seal(settings.AUDIT_HMAC_KEYS, seq, entry_hash)
    raw_insert({**forged, "seq": seq, "entry_hash": entry_hash, "mac_key_id": key_id, "entry_mac": mac})


def forge_tail(*, mac_key_id: str = "", entry_mac: str = "") -> int:
    """Append a forged entry with a correct chain hash but no valid seal (a database insider); return its seq."""
    last_seq, prev = chain_tail()
    forged = {
        "created_at": timezone.now(),
        "actor_id": None,
        "actor_username": "insider",
        "unit_id": None,
        "unit_name": "",
        "unit_path": "",
        "role_code": "",
        "action": AuditAction.LOGIN,
        "object_type": "",
        "object_id": "",
        "object_label": "伪造的登录",
        "outcome": AuditOutcome.SUCCESS,
        "ip_address": None,
        "purpose": "",
        "changes": {},
        "prev_hash": prev,
    }
    raw_insert(
        {
            **forged,
            "seq": last_seq + 1,
            "entry_hash": compute_hash(forged),
            "mac_key_id": mac_key_id,
            "entry_mac": entry_mac,
        }
    )
    return last_seq + 1


def tamper_swap(seq: int) -> None:
    """Swap the entries at ``seq`` and ``seq + 1``."""
    _renumber("seq = %s", [seq], 2_000_000_000)
    _renumber("seq = %s", [seq + 1], -1)
    _renumber("seq = %s", [seq + 2_000_000_000], -2_000_000_000 + 1)


def tamper_rewrite_from(seq: int) -> None:
    """Rewrite every entry from ``seq`` on and re-hash the chain so that it is consistent again."""
    prev = row(seq - 1)["entry_hash"] if seq > 1 else GENESIS
    for current in AuditEntry.objects.filter(seq__gte=seq).order_by("seq").values():
        content = {**current, "object_label": f"{current['object_label']}改", "prev_hash": prev}
        new_hash = compute_hash(content)
        raw_update(current["seq"], "object_label", content["object_label"])
        raw_update(current["seq"], "prev_hash", prev)
        raw_update(current["seq"], "entry_hash", new_hash)
        raw_update(current["seq"], "entry_mac", seal(settings.AUDIT_HMAC_KEYS, current["seq"], new_hash)[1])
        prev = new_hash
