"""Issue 14 item 6: SMS that stay on the server (console, file) are masked, and production refuses
the backends that never send unless the operator chose them explicitly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.notifications.backends import (
    ConsoleSmsBackend,
    FileSmsBackend,
    MemorySmsBackend,
    SmsMessage,
    check_sms_backend_allowed,
    get_sms_backend,
    mask_digits,
    sms_outbox,
)

ROOT = Path(__file__).resolve().parents[3]
ID_NUMBER = "33010619880808886X"
PHONE = "13988668866"
CODE = "482913"
MESSAGE = SmsMessage(
    phone=PHONE,
    text=f"验证码{CODE}，10分钟内有效。身份证{ID_NUMBER}，电话{PHONE}，3月9日14:30。",
    template="booking_code",
    params={"code": CODE, "time": "3月9日14:30"},
)
CONSOLE = "apps.notifications.backends.ConsoleSmsBackend"
FILE = "apps.notifications.backends.FileSmsBackend"
MEMORY = "apps.notifications.backends.MemorySmsBackend"
ALIYUN = "apps.notifications.backends.AliyunSmsBackend"


def test_mask_digits_hides_long_runs_and_keeps_short_ones():
    """X-2, issue 14 item 6: runs of 6+ digits are masked (ID, phone, code), times and dates stay."""
    assert mask_digits(ID_NUMBER) == "330" + "*" * 11 + "886X"
    assert mask_digits(PHONE) == "139****8866"
    assert mask_digits(f"验证码{CODE}") == "验证码******"
    assert mask_digits("３３０１０６１９８８０８０８８８６Ｘ") == "３３０" + "*" * 11 + "８８６Ｘ"
    assert mask_digits("3月9日14:30，12345") == "3月9日14:30，12345"
    assert mask_digits(None) == ""


def test_console_backend_prints_masked(capsys):
    """X-7, issue 14 item 6: the console backend's stdout holds neither the number, the ID nor the code."""
    ref = ConsoleSmsBackend().send(MESSAGE)
    out = capsys.readouterr().out
    assert ref.startswith("console-") and "139****8866" in out and "3月9日14:30" in out
    assert [value for value in (PHONE, ID_NUMBER, CODE) if value in out] == []


def test_file_backend_writes_masked(tmp_path):
    """X-7, issue 14 item 6: var/sms.log holds the number, text and parameters masked."""
    path = tmp_path / "sms.log"
    FileSmsBackend(path=path).send(MESSAGE)
    content = path.read_text(encoding="utf-8")
    line = json.loads(content)
    assert line["phone"] == "139****8866" and line["params"] == {"code": "******", "time": "3月9日14:30"}
    assert line["text"].startswith("验证码******，10分钟内有效。")
    assert [value for value in (PHONE, ID_NUMBER, CODE) if value in content] == []


def test_memory_backend_keeps_the_message_whole_for_tests():
    """X-7, issue 14 item 6: tests that must read a one-time code read it from sms_outbox."""
    sms_outbox.clear()
    ref = MemorySmsBackend().send(MESSAGE)
    assert ref.startswith("memory-") and sms_outbox == [MESSAGE]
    sms_outbox.clear()


@pytest.mark.parametrize(
    ("path", "allow", "refused"),
    [
        (CONSOLE, False, True),
        (FILE, False, True),
        (CONSOLE, True, False),
        (FILE, True, False),
        (MEMORY, True, True),
        (ALIYUN, False, False),
    ],
)
def test_production_refuses_backends_that_never_send(path, allow, refused):
    """X-7, issue 14 item 6: production refuses console/file unless chosen explicitly, the test backend always."""
    check_sms_backend_allowed(path, production=False, allow_local=False)  # development takes anything
    if refused:
        with pytest.raises(ImproperlyConfigured, match="生产模式"):
            check_sms_backend_allowed(path, production=True, allow_local=allow)
    else:
        check_sms_backend_allowed(path, production=True, allow_local=allow)


class RenamedConsole(ConsoleSmsBackend):
    """A console backend under another name: still a backend that never sends."""


def test_get_sms_backend_refuses_console_when_settings_say_production(settings):
    """X-7, issue 14 item 6: the run-time path refuses too (settings changed after start-up), subclasses included."""
    settings.PRODUCTION = True
    settings.NOTIFY_SMS_ALLOW_LOCAL_BACKEND = False
    for path in (CONSOLE, f"{__name__}.RenamedConsole"):
        settings.NOTIFY_SMS_BACKEND = path
        with pytest.raises(ImproperlyConfigured, match="NOTIFY_SMS_ALLOW_LOCAL_BACKEND"):
            get_sms_backend()
    settings.NOTIFY_SMS_ALLOW_LOCAL_BACKEND = True
    assert isinstance(get_sms_backend(), RenamedConsole)


def production_env(**extra) -> dict:
    """Everything production needs today (secret, hosts, vault keys, shared cache) plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "XINYUAN_", "DEBUG", "SECRET_KEY"))}
    env.update(
        XINYUAN_ENV="production",
        SECRET_KEY="s" * 30 + "-production-secret-for-the-sms-check",
        ALLOWED_HOSTS="xinyuan.example.gov.cn",
        SITE_URL="https://xinyuan.example.gov.cn",
        XINYUAN_FIELD_KEYS="k1:" + "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=",
        XINYUAN_INDEX_KEY="aWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWk=",
        CACHE_REDIS_URL="redis://127.0.0.1:6379/9",
    )
    env.update(extra)
    return env


def import_settings(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", "import xinyuan.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_start_up_refuses_the_default_console_backend():
    """X-7, issue 14 item 6: production without a real SMS backend does not start; choosing the console
    backend explicitly with NOTIFY_SMS_ALLOW_LOCAL_BACKEND=1 lifts that refusal."""
    refused = import_settings(production_env())
    assert refused.returncode != 0 and "NOTIFY_SMS_ALLOW_LOCAL_BACKEND" in refused.stderr
    chosen = import_settings(production_env(NOTIFY_SMS_BACKEND=CONSOLE, NOTIFY_SMS_ALLOW_LOCAL_BACKEND="1"))
    assert "NOTIFY_SMS_ALLOW_LOCAL_BACKEND" not in chosen.stderr, chosen.stderr
    memory = import_settings(production_env(NOTIFY_SMS_BACKEND=MEMORY, NOTIFY_SMS_ALLOW_LOCAL_BACKEND="1"))
    assert memory.returncode != 0 and "测试短信后端" in memory.stderr
