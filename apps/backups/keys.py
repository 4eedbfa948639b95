"""The backup key: ``XINYUAN_BACKUP_KEY`` (base64 of 32 random bytes), read when a backup runs.

Settings only carry the raw text (``settings.BACKUP_KEY``); it is parsed here, by the ``backup``
and ``restore`` commands, so a production server without the variable still starts its web
process and only the backup commands refuse (``ImproperlyConfigured``). A development run
without the variable derives a fixed, clearly labelled development key from SECRET_KEY.

The key never leaves this module except to the cipher: manifests and messages carry only its
fingerprint, which cannot be turned back into the key.
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.vault.keys import decode_key

BACKUP_KEY_VAR = "XINYUAN_BACKUP_KEY"
DEVELOPMENT_KEY_ID = "dev-only"


@dataclass(frozen=True)
class BackupKey:
    key: bytes
    development: bool

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    @property
    def key_id(self) -> str:
        """``dev-only`` for the derived development key, else the fingerprint."""
        return DEVELOPMENT_KEY_ID if self.development else self.fingerprint

    def __repr__(self):  # never the key material, even in a traceback
        return f"BackupKey(key_id={self.key_id!r}, fingerprint={self.fingerprint!r})"


def fingerprint(key: bytes) -> str:
    """A short, non-reversible label of a backup key (12 hex digits)."""
    return hashlib.sha256(b"xinyuan-backup-fingerprint:" + key).hexdigest()[:12]


def development_key(secret_key: str) -> bytes:
    """The development-only backup key derived from SECRET_KEY; never used in production."""
    return hmac.new(secret_key.encode(), b"xinyuan-backup-development-only", hashlib.sha256).digest()


def backup_key() -> BackupKey:
    """The configured backup key, or ImproperlyConfigured saying what is missing or wrong.

    Production requires ``XINYUAN_BACKUP_KEY``. The key must differ from every vault key: a backup
    sealed with the key that also decrypts its fields would protect nothing on its own.
    """
    text = (getattr(settings, "BACKUP_KEY", "") or "").strip()
    if not text:
        if getattr(settings, "PRODUCTION", False):
            raise ImproperlyConfigured(
                f"生产模式必须设置备份加密密钥 {BACKUP_KEY_VAR}（32 字节随机数的 base64），"
                f"生成与保管方法见 docs/backups.md（production requires {BACKUP_KEY_VAR}）"
            )
        return BackupKey(development_key(settings.SECRET_KEY), development=True)
    key = decode_key(text, BACKUP_KEY_VAR)
    vault_keys = [*settings.VAULT_FIELD_KEYS.values(), settings.VAULT_INDEX_KEY, settings.VAULT_INDEX_KEY_PREVIOUS]
    if key in vault_keys:
        raise ImproperlyConfigured(
            f"{BACKUP_KEY_VAR} 不得与敏感字段加密密钥或盲索引密钥相同"
            f"（{BACKUP_KEY_VAR} must differ from every vault key）"
        )
    return BackupKey(key, development=False)
