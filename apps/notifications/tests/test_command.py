"""``manage.py notify_test``: an operator checks the SMS and e-mail configuration (X-7)."""

import io
import json

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from apps.notifications.models import Delivery
from conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_notify_test_sends_now_and_reports(tree, quiet_sms, huey_immediate):
    """X-7: the command sends through the configured backends in-process and prints each result."""
    make_user("ops", tree.c1, "counsellor", mobile="13812345678")
    huey_immediate.immediate = False  # the command must switch to in-process sending itself
    out = io.StringIO()
    call_command("notify_test", "ops", stdout=out)
    assert huey_immediate.immediate is False
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("站内信：已发送")
    assert lines[1] == "短信：已发送（138****5678）"
    assert lines[2].startswith("电子邮件：未发送") and "未登记电子邮箱" in lines[2]
    [line] = [json.loads(x) for x in quiet_sms.read_text(encoding="utf-8").splitlines()]
    assert line["phone"] == "138****5678" and "测试通知" in line["text"]
    assert mail.outbox == []
    assert Delivery.objects.filter(status="queued").count() == 0


@pytest.mark.django_db
def test_notify_test_refuses_unknown_account():
    """X-7: an unknown login name is a clear error."""
    with pytest.raises(CommandError, match="没有登录名为“nobody-here”的账号"):
        call_command("notify_test", "nobody-here")
