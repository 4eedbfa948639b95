"""Issue 14 item 11: production refuses field keys derived from a secret (the ``dev-only`` keys), even
when someone copies them into XINYUAN_FIELD_KEYS / XINYUAN_INDEX_KEY by hand."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.vault.keys import DEVELOPMENT_KEY_ID, development_key, keys_from_environment
from xinyuan.settings import DEFAULT_SECRET_KEY

from .conftest import I1, I2, K1

ROOT = Path(__file__).resolve().parents[3]
SECRET = "p" * 50


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def production(environ: dict):
    return keys_from_environment(environ, production=True, secret_key=SECRET, default_secret_key=DEFAULT_SECRET_KEY)


DEFAULT_FIELD = development_key(DEFAULT_SECRET_KEY, "field")
DEFAULT_INDEX = development_key(DEFAULT_SECRET_KEY, "index")
OWN_FIELD = development_key(SECRET, "field")
OWN_INDEX = development_key(SECRET, "index")


def test_random_keys_are_accepted_in_production():
    """X-4, issue 14 item 11: the control — real random keys start."""
    keys = production({"XINYUAN_FIELD_KEYS": f"k1:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(I1)})
    assert keys.field_keys == {"k1": K1} and keys.development is False


@pytest.mark.parametrize(
    ("environ", "where"),
    [
        ({"XINYUAN_FIELD_KEYS": f"{DEVELOPMENT_KEY_ID}:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(I1)}, "dev-only"),
        ({"XINYUAN_FIELD_KEYS": f"k1:{b64(DEFAULT_FIELD)}", "XINYUAN_INDEX_KEY": b64(I1)}, "密钥 k1"),
        ({"XINYUAN_FIELD_KEYS": f"k2:{b64(K1)},k1:{b64(OWN_FIELD)}", "XINYUAN_INDEX_KEY": b64(I1)}, "密钥 k1"),
        ({"XINYUAN_FIELD_KEYS": f"k1:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(DEFAULT_INDEX)}, "XINYUAN_INDEX_KEY"),
        ({"XINYUAN_FIELD_KEYS": f"k1:{b64(K1)}", "XINYUAN_INDEX_KEY": b64(OWN_INDEX)}, "XINYUAN_INDEX_KEY"),
        (
            {
                "XINYUAN_FIELD_KEYS": f"k1:{b64(K1)}",
                "XINYUAN_INDEX_KEY": b64(I2),
                "XINYUAN_INDEX_KEY_PREVIOUS": b64(DEFAULT_INDEX),
            },
            "XINYUAN_INDEX_KEY_PREVIOUS",
        ),
    ],
    ids=["dev-only-id", "default-secret-field", "own-secret-old-field", "default-index", "own-index", "previous"],
)
def test_production_refuses_development_keys(environ, where):
    """X-4, S-PRIN-3, issue 14 item 11: a dev-only key id or a key derived from a secret refuses start-up."""
    with pytest.raises(ImproperlyConfigured, match="生产模式不得使用") as caught:
        production(environ)
    assert where in str(caught.value)
    for raw in (K1, DEFAULT_FIELD, DEFAULT_INDEX, OWN_FIELD, OWN_INDEX):
        assert b64(raw) not in str(caught.value)  # the key itself is never echoed
    keys_from_environment(environ, production=False, secret_key=SECRET)  # development takes them


def settings_import(**variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XINYUAN_", "NOTIFY_", "DEBUG", "SECRET_KEY"))}
    env.update(
        XINYUAN_ENV="production",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="xinyuan.example.gov.cn",
        SITE_URL="https://xinyuan.example.gov.cn",
        CACHE_REDIS_URL="redis://127.0.0.1:6379/9",
        AUDIT_HMAC_KEYS="a1:" + b64(bytes(range(128, 160))),
        NOTIFY_SMS_BACKEND="apps.notifications.backends.FileSmsBackend",
        NOTIFY_SMS_ALLOW_LOCAL_BACKEND="1",
    )
    env.update(variables)
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", "import xinyuan.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_settings_refuse_the_development_keys_copied_by_hand():
    """X-4, issue 14 item 11: XINYUAN_ENV=production with the keys a development run derives does not start."""
    copied = settings_import(XINYUAN_FIELD_KEYS=f"k1:{b64(DEFAULT_FIELD)}", XINYUAN_INDEX_KEY=b64(DEFAULT_INDEX))
    assert copied.returncode != 0 and "production refuses a development key" in copied.stderr
    labelled = settings_import(XINYUAN_FIELD_KEYS=f"dev-only:{b64(K1)}", XINYUAN_INDEX_KEY=b64(I1))
    assert labelled.returncode != 0 and "production refuses the key id 'dev-only'" in labelled.stderr
    real = settings_import(XINYUAN_FIELD_KEYS=f"k1:{b64(K1)}", XINYUAN_INDEX_KEY=b64(I1))
    assert "production refuses" not in real.stderr, real.stderr
