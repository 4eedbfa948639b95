"""The smallest environment a production deployment starts with (docs/install.md): every test that loads the
settings in production mode starts from here, so a new production requirement is added in one place."""

import base64


def production_env(var_dir) -> dict[str, str]:
    return {
        "XINYUAN_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": "p" * 30 + "roduction-secret-key-for-the-tests-only",
        "ALLOWED_HOSTS": "xinyuan.example.gov.cn",
        "SITE_URL": "https://xinyuan.example.gov.cn",
        "XINYUAN_FIELD_KEYS": "k1:" + base64.b64encode(b"f" * 32).decode(),
        "XINYUAN_INDEX_KEY": base64.b64encode(b"i" * 32).decode(),
        "AUDIT_HMAC_KEYS": "a1:" + base64.b64encode(b"a" * 32).decode(),
        "CACHE_REDIS_URL": "redis://127.0.0.1:6379/9",
        "NOTIFY_SMS_BACKEND": "apps.notifications.backends.FileSmsBackend",
        "NOTIFY_SMS_ALLOW_LOCAL_BACKEND": "1",
        "XINYUAN_VAR_DIR": str(var_dir),
    }
