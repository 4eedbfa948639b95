"""Authenticated encryption of field values and the keyed hash behind exact search.

A stored value is ``v1:<keyid>:<base64(nonce ‖ ciphertext ‖ tag)>``: AES-256-GCM with a random
96-bit nonce. The associated data binds the ciphertext to its column (``app.model.field``) and key
id, so a value copied into another column, or with a forged key id, fails authentication instead
of decrypting. The binding does not include the row, so a value copied between two rows of the
same column still decrypts; the audit log, not the cipher, answers for that.

A blind index is HMAC-SHA256 of the normalised value under XINYUAN_INDEX_KEY, as 64 hex digits.
It is deterministic on purpose (equal values give equal indexes, which is what exact search
needs) and therefore reveals equality; it is only ever computed for fields that need search.
"""

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keys import current_key_id, field_keys, index_keys
from .normalizers import Normalizer, resolve_normalizer

FORMAT_VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16
HMAC_BLOCK = 64  # SHA-256 block size


class VaultError(Exception):
    """A sensitive value could not be handled safely; the message says what and where."""


class DecryptionError(VaultError):
    """A stored value does not decrypt: tampered, copied from another column, or its key is missing."""


def _associated_data(key_id: str, label: str) -> bytes:
    return f"xinyuan-vault:{FORMAT_VERSION}:{key_id}:{label}".encode()


def encrypt_text(plaintext: str, label: str) -> str:
    """Encrypt ``plaintext`` for the column ``label`` with the current key."""
    key_id = current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(field_keys()[key_id]).encrypt(nonce, plaintext.encode("utf-8"), _associated_data(key_id, label))
    return f"{FORMAT_VERSION}:{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def encrypt_many(plaintexts: Iterable[str], label: str) -> list[str]:
    """Encrypt many values for the column ``label``: the same as ``encrypt_text`` on each.

    One key object and one read of the random source serve the whole list; every value still gets
    its own random 96-bit nonce, so the output is indistinguishable from ``encrypt_text``'s (bulk
    imports use this; see docs/screening.md).
    """
    values = list(plaintexts)
    key_id = current_key_id()
    seal = AESGCM(field_keys()[key_id]).encrypt
    associated = _associated_data(key_id, label)
    prefix = f"{FORMAT_VERSION}:{key_id}:"
    randomness = os.urandom(NONCE_BYTES * len(values))
    b2a = binascii.b2a_base64
    out = []
    for position, value in enumerate(values):
        start = position * NONCE_BYTES
        nonce = randomness[start : start + NONCE_BYTES]
        out.append(prefix + b2a(nonce + seal(nonce, value.encode("utf-8"), associated), newline=False).decode("ascii"))
    return out


def key_id_of(token: str) -> str | None:
    """The key id a stored value was written with, or None when it is not a v1 ciphertext."""
    version, sep, rest = token.partition(":")
    key_id, sep2, _ = rest.partition(":")
    if version != FORMAT_VERSION or not sep or not sep2 or not key_id:
        return None
    return key_id


def decrypt_text(token: str, label: str) -> str:
    """Decrypt a stored value of the column ``label`` or raise DecryptionError saying why.

    Any listed key decrypts; the key id in the value picks it. A wrong column, a flipped byte or
    a truncated value fails the GCM tag check (InvalidTag, kept as ``__cause__``).
    """
    key_id = key_id_of(token)
    if key_id is None:
        raise DecryptionError(
            f"加密字段 {label} 的存储值不是 {FORMAT_VERSION} 密文格式，可能是未加密的明文或被改写"
            f"（stored value of {label} is not a {FORMAT_VERSION} ciphertext）"
        )
    key = field_keys().get(key_id)
    if key is None:
        raise DecryptionError(
            f"加密字段 {label} 的密文使用密钥 {key_id!r}，该密钥不在 XINYUAN_FIELD_KEYS 中"
            f"（key {key_id!r} used by {label} is not configured）"
        )
    body = token.split(":", 2)[2]
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError(
            f"加密字段 {label} 的密文不是有效的 base64，已被改写（ciphertext of {label} is not valid base64）"
        ) from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(f"加密字段 {label} 的密文长度不足，已被截断（ciphertext of {label} is truncated）")
    try:
        plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(key_id, label))
    except InvalidTag as exc:
        raise DecryptionError(
            f"加密字段 {label} 的密文未通过完整性校验：已被篡改、来自其他字段，或密钥 {key_id!r} 的内容不对"
            f"（ciphertext of {label} failed authentication: tampered, copied from another column, "
            f"or wrong material for key {key_id!r}）"
        ) from exc
    return plaintext.decode("utf-8")


def _index_with(key: bytes, value, normalizer: Normalizer | str | None) -> str | None:
    if value is None:
        return None
    normalized = resolve_normalizer(normalizer)(str(value))
    if not normalized:
        return None
    return hmac.new(key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()


def blind_index(value, normalizer: Normalizer | str | None = None) -> str | None:
    """Return the blind index (64 hex digits) of ``value`` under the current index key.

    ``normalizer`` must be the one the index field declares (see ``apps.vault.normalizers``).
    None or a value that normalises to "" has no index (None), so empty values never share one.
    """
    return _index_with(index_keys()[0], value, normalizer)


def blind_index_many(
    values: Iterable, normalizer: Normalizer | str | None = None, *, key: bytes | None = None
) -> list[str | None]:
    """``blind_index`` of each value (None where it has none), with one keyed HMAC set up for all.

    ``key`` defaults to the current index key; pass ``index_keys()[1]`` for the previous one.
    """
    normalize = resolve_normalizer(normalizer)
    # HMAC-SHA256 (RFC 2104) spelled out so that the padded keys are prepared once: the same
    # digests as hmac.new(key, value, sha256), at a third of the cost per value.
    key = index_keys()[0] if key is None else key
    if len(key) > HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(HMAC_BLOCK, b"\0")
    inner_key = bytes(byte ^ 0x36 for byte in key)
    outer_key = bytes(byte ^ 0x5C for byte in key)
    sha256 = hashlib.sha256
    out: list[str | None] = []
    for value in values:
        normalized = normalize(str(value)) if value is not None else ""
        if not normalized:
            out.append(None)
            continue
        out.append(sha256(outer_key + sha256(inner_key + normalized.encode("utf-8")).digest()).hexdigest())
    return out


def blind_index_candidates(value, normalizer: Normalizer | str | None = None) -> list[str]:
    """Return the indexes ``value`` may be stored under: current key, then the previous one.

    During an index-key change (XINYUAN_INDEX_KEY_PREVIOUS set) rows not yet re-indexed still
    carry the old index, so exact search asks for both.
    """
    found = []
    for key in index_keys():
        digest = _index_with(key, value, normalizer)
        if digest is not None and digest not in found:
            found.append(digest)
    return found
