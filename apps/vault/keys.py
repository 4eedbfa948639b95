"""Where the vault's keys come from: the environment at start-up, the settings at run time.

``XINYUAN_FIELD_KEYS`` is ``keyid:base64key,keyid:base64key,…`` of 32-byte AES-256 keys. The first
key encrypts; every listed key decrypts, so an old key stays in the list until ``rotate_keys`` has
moved every row off it. ``XINYUAN_INDEX_KEY`` (base64, 32 bytes) keys the blind index; while the
index key changes, ``XINYUAN_INDEX_KEY_PREVIOUS`` holds the old one so exact search still finds
rows that ``rotate_keys --new-index-key`` has not re-indexed yet.

Without the variables a development run derives fixed keys from SECRET_KEY (key id ``dev-only``);
production refuses to start, and also refuses keys that are such development keys copied into the
variables (the key id ``dev-only``, or a key derived from the repository's default secret or from
SECRET_KEY itself), because whoever knows the secret could compute them (issue 14 item 11).
``xinyuan/settings.py`` imports this module, so nothing here may read Django settings or models at
import time; the run-time helpers read ``settings.VAULT_*`` on every call, so ``override_settings``
in tests takes effect at once.
"""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEVELOPMENT_KEY_ID = "dev-only"
FIELD_KEYS_VAR = "XINYUAN_FIELD_KEYS"
INDEX_KEY_VAR = "XINYUAN_INDEX_KEY"
INDEX_KEY_PREVIOUS_VAR = "XINYUAN_INDEX_KEY_PREVIOUS"


@dataclass(frozen=True)
class VaultKeys:
    """Parsed key material: field keys in order (the first encrypts) and the blind-index keys."""

    field_keys: dict[str, bytes]
    index_key: bytes
    index_key_previous: bytes | None
    development: bool


def decode_key(text: str, where: str) -> bytes:
    """Return the 32 bytes encoded in ``text`` (standard or URL-safe base64) or refuse to start.

    ``where`` names the variable and key id in the message; the key itself is never echoed.
    """
    text = text.strip()
    altchars = b"-_" if ("-" in text or "_" in text) else None
    try:
        raw = base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{where} 不是有效的 base64 编码（{where} is not valid base64）") from exc
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{where} 必须是 {KEY_BYTES} 字节的密钥，实际为 {len(raw)} 字节"
            f"（{where} must decode to {KEY_BYTES} bytes, got {len(raw)}）"
        )
    return raw


def parse_field_keys(text: str) -> dict[str, bytes]:
    """Parse ``keyid:base64key,…`` into an ordered {key id: key}; the first entry encrypts."""
    keys: dict[str, bytes] = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not encoded.strip():
            raise ImproperlyConfigured(
                f"{FIELD_KEYS_VAR} 的每一项必须写成“密钥编号:base64密钥”"
                f"（each entry of {FIELD_KEYS_VAR} must be keyid:base64key）"
            )
        if not KEY_ID_RE.match(key_id):
            raise ImproperlyConfigured(
                f"{FIELD_KEYS_VAR} 中的密钥编号 {key_id!r} 只能包含字母、数字、- 和 _，最长 32 个字符"
                f"（key id {key_id!r} in {FIELD_KEYS_VAR} must be 1-32 letters, digits, - or _）"
            )
        if key_id in keys:
            raise ImproperlyConfigured(
                f"{FIELD_KEYS_VAR} 中的密钥编号 {key_id!r} 重复（key id {key_id!r} appears twice）"
            )
        keys[key_id] = decode_key(encoded, f"{FIELD_KEYS_VAR} 密钥 {key_id}")
    if not keys:
        raise ImproperlyConfigured(f"{FIELD_KEYS_VAR} 没有任何密钥（{FIELD_KEYS_VAR} lists no key）")
    return keys


def development_key(secret_key: str, purpose: str) -> bytes:
    """Derive a fixed development-only key from SECRET_KEY; never used in production."""
    message = f"xinyuan-vault-development-only:{purpose}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def refuse_development_keys(keys: VaultKeys, secrets_known: tuple[str, ...]) -> None:
    """Production: no key may be labelled ``dev-only`` or equal a key derived from a known secret."""
    if DEVELOPMENT_KEY_ID in keys.field_keys:
        raise ImproperlyConfigured(
            f"生产模式不得使用编号为 {DEVELOPMENT_KEY_ID} 的开发密钥，请按 docs/vault.md 生成随机密钥"
            f"（production refuses the key id {DEVELOPMENT_KEY_ID!r} in {FIELD_KEYS_VAR}）"
        )
    derived = {development_key(secret, purpose) for secret in secrets_known if secret for purpose in ("field", "index")}
    configured = [(f"{FIELD_KEYS_VAR} 密钥 {key_id}", key) for key_id, key in keys.field_keys.items()]
    configured.append((INDEX_KEY_VAR, keys.index_key))
    if keys.index_key_previous:
        configured.append((INDEX_KEY_PREVIOUS_VAR, keys.index_key_previous))
    for where, key in configured:
        if any(hmac.compare_digest(key, candidate) for candidate in derived):
            raise ImproperlyConfigured(
                f"生产模式不得使用由 SECRET_KEY 或默认密钥派生的开发密钥（{where}），请按 docs/vault.md 生成随机密钥"
                f"（production refuses a development key derived from a secret: {where}）"
            )


def keys_from_environment(
    environ: Mapping[str, str], *, production: bool, secret_key: str, default_secret_key: str = ""
) -> VaultKeys:
    """Read the vault keys from ``environ``; in production a missing variable refuses start-up.

    Malformed keys refuse start-up in every environment. In development a missing variable is
    replaced by a key derived from SECRET_KEY and ``development`` is set, so the self-test can
    say so. Production also refuses development keys copied into the variables: the ``dev-only``
    key id and any key derived from ``secret_key`` or ``default_secret_key`` (the repository's).
    """
    field_text = environ.get(FIELD_KEYS_VAR, "").strip()
    index_text = environ.get(INDEX_KEY_VAR, "").strip()
    previous_text = environ.get(INDEX_KEY_PREVIOUS_VAR, "").strip()
    if production:
        missing = [name for name, value in ((FIELD_KEYS_VAR, field_text), (INDEX_KEY_VAR, index_text)) if not value]
        if missing:
            names = "、".join(missing)
            raise ImproperlyConfigured(
                f"生产模式必须设置敏感字段加密密钥 {names}，生成与保管方法见 docs/vault.md"
                f"（production requires the field encryption keys {', '.join(missing)}; see docs/vault.md）"
            )
    development = False
    if field_text:
        field_keys = parse_field_keys(field_text)
    else:
        field_keys = {DEVELOPMENT_KEY_ID: development_key(secret_key, "field")}
        development = True
    if index_text:
        index_key = decode_key(index_text, INDEX_KEY_VAR)
    else:
        index_key = development_key(secret_key, "index")
        development = True
    index_key_previous = decode_key(previous_text, INDEX_KEY_PREVIOUS_VAR) if previous_text else None
    if index_key in field_keys.values() or (index_key_previous and index_key_previous in field_keys.values()):
        raise ImproperlyConfigured(
            f"{INDEX_KEY_VAR} 不得与 {FIELD_KEYS_VAR} 中的任何密钥相同"
            f"（the index key must differ from every field key）"
        )
    if index_key_previous == index_key:
        raise ImproperlyConfigured(
            f"{INDEX_KEY_PREVIOUS_VAR} 与 {INDEX_KEY_VAR} 相同，轮换时前者应为旧密钥"
            f"（{INDEX_KEY_PREVIOUS_VAR} must be the old index key, not the current one）"
        )
    keys = VaultKeys(field_keys, index_key, index_key_previous, development)
    if production:
        refuse_development_keys(keys, (secret_key, default_secret_key))
    return keys


# --- run time: read the parsed keys from settings on every call ---------------------------------


def field_keys() -> dict[str, bytes]:
    """Every configured field key by id, the encrypting key first."""
    return settings.VAULT_FIELD_KEYS


def current_key_id() -> str:
    """The id of the key new ciphertexts are written with."""
    return next(iter(settings.VAULT_FIELD_KEYS))


def index_keys() -> list[bytes]:
    """The blind-index key, then the previous one while an index-key change is under way."""
    keys = [settings.VAULT_INDEX_KEY]
    if settings.VAULT_INDEX_KEY_PREVIOUS:
        keys.append(settings.VAULT_INDEX_KEY_PREVIOUS)
    return keys


def using_development_keys() -> bool:
    return bool(settings.VAULT_DEVELOPMENT_KEYS)


def fingerprint(key: bytes) -> str:
    """A short, non-reversible label of a key, so operators can compare servers without showing it."""
    return hashlib.sha256(b"xinyuan-vault-fingerprint:" + key).hexdigest()[:12]
