import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.vault.keys import DEVELOPMENT_KEY_ID, keys_from_environment

from .conftest import I1, K1, K2

BASE_DIR = Path(__file__).resolve().parents[3]
SECRET = "s" * 50
VAULT_VARS = ("XINYUAN_FIELD_KEYS", "XINYUAN_INDEX_KEY", "XINYUAN_INDEX_KEY_PREVIOUS")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_production_without_keys_refuses_with_chinese_and_english_message():
    """X-4, S-PRIN-3: production refuses to start without field and index keys."""
    with pytest.raises(ImproperlyConfigured) as caught:
        keys_from_environment({}, production=True, secret_key=SECRET)
    message = str(caught.value)
    assert "生产模式必须设置敏感字段加密密钥" in message and "production requires" in message
    assert "XINYUAN_FIELD_KEYS" in message and "XINYUAN_INDEX_KEY" in message
    with pytest.raises(ImproperlyConfigured, match="XINYUAN_INDEX_KEY") as caught:
        keys_from_environment({"XINYUAN_FIELD_KEYS": f"k1:{b64(K1)}"}, production=True, secret_key=SECRET)
    assert "XINYUAN_FIELD_KEYS" not in str(caught.value)


def test_production_with_keys_parses_them_in_order():
    """X-4: the first listed key encrypts; the others stay available for decryption."""
    keys = keys_from_environment(
        {"XINYUAN_FIELD_KEYS": f" k2:{b64(K2)} , k1:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(I1)},
        production=True,
        secret_key=SECRET,
    )
    assert list(keys.field_keys) == ["k2", "k1"]
    assert keys.field_keys["k1"] == K1 and keys.index_key == I1
    assert keys.index_key_previous is None and keys.development is False


def test_url_safe_base64_is_accepted():
    """X-4: keys made with urlsafe_b64encode are accepted too."""
    url_safe = base64.urlsafe_b64encode(b"\xff" * 32).decode()
    assert "_" in url_safe
    keys = keys_from_environment(
        {"XINYUAN_FIELD_KEYS": f"k1:{url_safe}", "XINYUAN_INDEX_KEY": b64(I1)},
        production=True,
        secret_key=SECRET,
    )
    assert keys.field_keys["k1"] == b"\xff" * 32


def test_development_derives_labelled_fixed_keys_from_secret_key():
    """X-4: development without variables gets stable keys labelled dev-only, distinct per SECRET_KEY."""
    first = keys_from_environment({}, production=False, secret_key=SECRET)
    again = keys_from_environment({}, production=False, secret_key=SECRET)
    other = keys_from_environment({}, production=False, secret_key="t" * 50)
    assert list(first.field_keys) == [DEVELOPMENT_KEY_ID] and first.development is True
    assert first == again
    assert first.field_keys != other.field_keys and first.index_key != other.index_key
    assert first.index_key != first.field_keys[DEVELOPMENT_KEY_ID]
    assert len(first.index_key) == 32


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"XINYUAN_FIELD_KEYS": "k1"}, "keyid:base64key"),
        ({"XINYUAN_FIELD_KEYS": "k1:%%%not-base64%%%"}, "base64"),
        ({"XINYUAN_FIELD_KEYS": f"k1:{b64(b'short' * 3)}"}, "32 bytes"),
        ({"XINYUAN_FIELD_KEYS": f"bad id:{b64(K1)}"}, "letters, digits"),
        ({"XINYUAN_FIELD_KEYS": f"k1:{b64(K1)},k1:{b64(K2)}"}, "appears twice"),
        ({"XINYUAN_FIELD_KEYS": " , "}, "lists no key"),
        ({"XINYUAN_INDEX_KEY": b64(b"x" * 31)}, "32 bytes"),
        ({"XINYUAN_FIELD_KEYS": f"k1:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(K1)}, "differ from every field key"),
        ({"XINYUAN_INDEX_KEY": b64(I1), "XINYUAN_INDEX_KEY_PREVIOUS": b64(I1)}, "must be the old index key"),
    ],
)
def test_malformed_keys_refuse_start_in_every_environment(environ, needle):
    """X-4: a malformed key stops start-up even in development, and the key is never echoed."""
    with pytest.raises(ImproperlyConfigured, match=needle) as caught:
        keys_from_environment(environ, production=False, secret_key=SECRET)
    assert b64(K1) not in str(caught.value)


def _import_settings(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in VAULT_VARS}
    env.update(
        {
            "XINYUAN_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "xinyuan.example",
            "SITE_URL": "https://xinyuan.example",
        }
    )
    # The rest production needs (issue 14): a shared cache, an SMS backend chosen explicitly, audit HMAC keys.
    env.update(
        {
            "AUDIT_HMAC_KEYS": "a1:" + b64(bytes(range(128, 160))),
            "CACHE_REDIS_URL": "redis://127.0.0.1:6379/9",
            "NOTIFY_SMS_BACKEND": "apps.notifications.backends.FileSmsBackend",
            "NOTIFY_SMS_ALLOW_LOCAL_BACKEND": "1",
        }
    )
    env.update(extra)
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", "import xinyuan.settings as s; print(sorted(s.VAULT_FIELD_KEYS))"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_module_refuses_to_load_without_keys():
    """X-4, S-PRIN-3: importing the real settings in production without keys fails; with keys it loads."""
    refused = _import_settings({})
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "XINYUAN_FIELD_KEYS" in refused.stderr
    loaded = _import_settings({"XINYUAN_FIELD_KEYS": f"k9:{b64(K2)},k1:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(I1)})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "['k1', 'k9']"
