"""The hash chain: what is hashed, and how.

``entry_hash = SHA-256(canonical JSON of HASHED_FIELDS)``. ``prev_hash`` is one of the hashed
fields, so each entry seals its predecessor; the first entry's ``prev_hash`` is ``GENESIS``.

``seq`` is deliberately *not* hashed: the order is sealed by the ``prev_hash`` links, and leaving
the number out lets ``verify_chain`` tell a reordering (every entry still hashes correctly, a link
is broken) from an edit (an entry no longer hashes to its ``entry_hash``). Changing numbers is
still caught: a gap is a deletion, a swap breaks a link.

Values are normalised *before* they are stored (``json_safe``) so that what is hashed at write
time is exactly what the database gives back on SQLite and PostgreSQL alike.
"""

import datetime as dt
import decimal
import enum
import hashlib
import ipaddress
import json
import uuid

from django.db import models

GENESIS = "0" * 64

HASHED_FIELDS = (
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
)


def format_time(value: dt.datetime) -> str:
    """The hashed form of a timestamp: UTC, ISO 8601, microseconds."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_json(content: dict) -> bytes:
    """Serialise ``content`` (a mapping with HASHED_FIELDS) the one way that gets hashed."""
    payload = {name: content[name] for name in HASHED_FIELDS}
    payload["created_at"] = format_time(payload["created_at"])
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def compute_hash(content: dict) -> str:
    """SHA-256 hex digest of the canonical JSON of ``content``."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def entry_content(entry) -> dict:
    """The hashed fields of an ``AuditEntry`` instance, as a dict."""
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def json_safe(value):
    """Turn ``value`` into plain JSON data that survives a database round trip unchanged.

    Model instances become their primary key, dates ISO strings, decimals strings, sets sorted
    lists; floats in exponent form, non-finite floats and other objects become strings. NUL characters, which
    PostgreSQL refuses in text, are dropped.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        # PostgreSQL's jsonb rewrites 1e+20 as 100000000000000000000 (an int once read back):
        # keep exponent forms and non-finite values as text.
        text = repr(value)
        return value if text.replace(".", "", 1).lstrip("-").isdigit() else text
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime):
        return format_time(value) if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return json_safe(str(value))


def clean_text(value, max_length: int) -> str:
    """A string field value as stored: no NULs, cut to the column's length."""
    return str(value or "").replace("\x00", "")[:max_length]


def clean_ip(value) -> str | None:
    """A valid IP address in the canonical form PostgreSQL's ``inet`` also prints, or None."""
    if not value:
        return None
    text = str(value).strip().split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(address)
