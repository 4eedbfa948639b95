"""The audit HMAC keys: read from the environment at start-up, used by every entry write and check.

``AUDIT_HMAC_KEYS`` is ``keyid:base64key,keyid:base64key,…`` of 32-byte keys. The first key seals new
entries; every listed key verifies, so a retired key stays in the list for as long as entries sealed
with it are kept. The keys live outside the database: whoever can write the table but does not hold a
key can no longer append an entry that ``verify_audit`` accepts.

Without the variable a development run derives a fixed key from SECRET_KEY (key id ``dev-only``);
production refuses to start without real keys, and refuses the ``dev-only`` id or the derived key.
``xinyuan/settings.py`` imports this module, so nothing here reads Django settings or models at import time.
"""

import hashlib
import hmac
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from apps.vault.keys import DEVELOPMENT_KEY_ID, KEY_ID_RE, decode_key, development_key

HMAC_KEYS_VAR = "AUDIT_HMAC_KEYS"
MAC_CONTEXT = b"xinyuan-audit-entry-v1"


def parse_hmac_keys(text: str) -> dict[str, bytes]:
    """Parse ``keyid:base64key,…`` into an ordered {key id: key}; the first entry seals."""
    keys: dict[str, bytes] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = (part.strip() for part in item.partition(":"))
        if not sep or not encoded:
            raise ImproperlyConfigured(
                f"{HMAC_KEYS_VAR} 的每一项必须写成“密钥编号:base64密钥”（each entry must be keyid:base64key）"
            )
        if not KEY_ID_RE.match(key_id):
            raise ImproperlyConfigured(
                f"{HMAC_KEYS_VAR} 中的密钥编号 {key_id!r} 只能包含字母、数字、- 和 _，最长 32 个字符"
                f"（key id {key_id!r} must be 1-32 letters, digits, - or _）"
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"{HMAC_KEYS_VAR} 中的密钥编号 {key_id!r} 重复（key id appears twice）")
        keys[key_id] = decode_key(encoded, f"{HMAC_KEYS_VAR} 密钥 {key_id}")
    if not keys:
        raise ImproperlyConfigured(f"{HMAC_KEYS_VAR} 没有任何密钥（{HMAC_KEYS_VAR} lists no key）")
    return keys


def hmac_keys_from_environment(environ: Mapping[str, str], *, production: bool, secret_key: str) -> dict[str, bytes]:
    """The audit HMAC keys from ``environ``; production without them, or with a ``dev-only`` key, refuses."""
    text = environ.get(HMAC_KEYS_VAR, "").strip()
    if not text:
        if production:
            raise ImproperlyConfigured(
                f"生产模式必须设置审计日志签名密钥 {HMAC_KEYS_VAR}，生成与保管方法见 docs/audit.md"
                f"（production requires {HMAC_KEYS_VAR}; see docs/audit.md）"
            )
        return {DEVELOPMENT_KEY_ID: development_key(secret_key, "audit-hmac")}
    keys = parse_hmac_keys(text)
    derived = development_key(secret_key, "audit-hmac")
    if production and (DEVELOPMENT_KEY_ID in keys or derived in keys.values()):
        raise ImproperlyConfigured(
            f"生产模式不得使用开发密钥（编号 {DEVELOPMENT_KEY_ID!r} 或由 SECRET_KEY 派生的密钥）"
            f"（{HMAC_KEYS_VAR}: development keys are refused in production）"
        )
    return keys


def entry_mac(key: bytes, key_id: str, seq: int, entry_hash: str) -> str:
    """HMAC-SHA256 over an entry's number and chain hash (which covers its content and predecessor)."""
    message = b"\n".join((MAC_CONTEXT, key_id.encode(), str(seq).encode(), entry_hash.encode()))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(keys: Mapping[str, bytes], seq: int, entry_hash: str) -> tuple[str, str]:
    """``(key id, mac)`` of a new entry under the first (current) key."""
    key_id, key = next(iter(keys.items()))
    return key_id, entry_mac(key, key_id, seq, entry_hash)


def check_seal(keys: Mapping[str, bytes], key_id: str, seq: int, entry_hash: str, mac: str) -> str | None:
    """None when ``mac`` is a valid seal of the entry; else why not (``"unknown_key"`` or ``"bad_mac"``)."""
    key = keys.get(key_id)
    if key is None:
        return "unknown_key"
    if not hmac.compare_digest(entry_mac(key, key_id, seq, entry_hash), mac or ""):
        return "bad_mac"
    return None
