"""Sending: templates, channels, delivery records, retries, backends (X-7)."""

import datetime
import io
import json
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.notifications import catalog, services
from apps.notifications.backends import ConsoleSmsBackend, FileSmsBackend, SmsError, SmsMessage
from apps.notifications.models import Delivery, Notification
from apps.notifications.tasks import send_delivery
from conftest import make_user

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
START = datetime.datetime(2026, 3, 9, 6, 30, tzinfo=datetime.UTC)  # 14:30 in Shanghai


def remind(user, channels=("inapp", "sms", "email"), url="/appointments/7/"):
    return services.notify_user(
        user=user,
        template="appointment_reminder",
        context={"start": START, "place": "一社区心理服务室"},
        channels=channels,
        url=url,
    )


def deliveries(notification) -> dict[str, Delivery]:
    return {d.channel: d for d in Delivery.objects.filter(notification=notification)}


def sms_lines(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class CountingBackend:
    """A real backend class chosen through settings; its behaviour is set per test."""

    calls: list[SmsMessage] = []
    outcomes: list = []

    def send(self, message):
        type(self).calls.append(message)
        outcome = type(self).outcomes.pop(0) if type(self).outcomes else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        return f"ref-{len(type(self).calls)}"


@pytest.fixture
def counting(settings):
    settings.NOTIFY_SMS_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.calls = []
    CountingBackend.outcomes = []
    return CountingBackend


def test_every_channel_gets_a_delivery_record(alice, quiet_sms, settings, django_capture_on_commit_callbacks):
    """X-7: in-app, SMS and e-mail each get a delivery record, sent by the huey task after commit; the SMS and
    the e-mail point to the full address SITE_URL + path (issue 13 item 10)."""
    settings.SITE_URL = "https://xinyuan.example.gov.cn"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = remind(alice)
    assert len(callbacks) == 1
    rows = deliveries(note)
    assert set(rows) == {"inapp", "sms", "email"}
    assert all(d.status == "sent" and d.attempts == 1 and d.sent_at for d in rows.values())
    assert rows["sms"].address == "138****5678"
    assert rows["email"].address == "a***@example.org"
    assert rows["sms"].provider_ref.startswith("file-")
    [line] = sms_lines(quiet_sms)
    assert line["phone"] == "138****5678"  # the file keeps the number masked (issue 14 item 6)
    assert line["template"] == "appointment_reminder"
    assert line["text"] == "您有一个预约将于3月9日14:30开始，详情：https://xinyuan.example.gov.cn/appointments/7/"
    assert line["params"] == {"time": "3月9日14:30", "link": "https://xinyuan.example.gov.cn/appointments/7/"}
    assert "一社区" not in line["text"]  # no places or names on a phone screen
    [email] = mail.outbox
    assert email.to == ["alice@example.org"]
    assert email.subject == "【心援】预约提醒：3月9日 14:30"
    assert "2026年3月9日 14:30" in email.body and "一社区心理服务室" in email.body
    assert "查看详情：https://xinyuan.example.gov.cn/appointments/7/" in email.body


def test_nothing_leaves_before_the_transaction_commits(alice, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: SMS and e-mail wait for the commit; a rolled-back change sends nothing and leaves no rows."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = remind(alice)
    assert {d.status for d in Delivery.objects.filter(channel__in=["sms", "email"])} == {"queued"}
    assert sms_lines(quiet_sms) == [] and mail.outbox == []
    for callback in callbacks:
        callback()
    assert {d.status for d in deliveries(note).values()} == {"sent"}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            remind(alice)
            raise RuntimeError("业务出错，整体回滚")
    assert callbacks == []
    assert Notification.objects.count() == 1
    assert len(sms_lines(quiet_sms)) == 1


def test_no_address_means_skipped_with_reason(tree, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: a user without mobile or e-mail gets no SMS or e-mail; the delivery says why."""
    carol = make_user("carol", tree.c1, "counsellor", full_name="卡罗尔")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = remind(carol)
    assert callbacks == []  # nothing to queue
    rows = deliveries(note)
    assert rows["inapp"].status == "sent"
    assert rows["sms"].status == "skipped" and "未登记手机号码" in rows["sms"].error
    assert rows["email"].status == "skipped" and "未登记电子邮箱" in rows["email"].error
    assert rows["sms"].attempts == 0 and rows["sms"].address == ""
    assert sms_lines(quiet_sms) == [] and mail.outbox == []
    assert Notification.objects.get().recipient == carol


def test_disabled_account_gets_no_sms(alice, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: a disabled account still has its inbox row but no SMS or e-mail goes out."""
    alice.is_active = False
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice)
    rows = deliveries(note)
    assert rows["sms"].status == "skipped" and "停用" in rows["sms"].error
    assert rows["email"].status == "skipped"
    assert sms_lines(quiet_sms) == []


def test_inbox_is_always_written(alice, django_capture_on_commit_callbacks):
    """X-7: asking for SMS only still writes the inbox row, with its in-app delivery record."""
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice, channels=("sms",))
    assert set(deliveries(note)) == {"inapp", "sms"}


def test_failures_are_retried_a_bounded_number_of_times(alice, counting, django_capture_on_commit_callbacks):
    """X-7: a failing provider is tried NOTIFY_MAX_ATTEMPTS times by huey, then the delivery is failed."""
    counting.outcomes = [SmsError("网络超时")] * 10
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice, channels=("sms",))
    sms = deliveries(note)["sms"]
    assert len(counting.calls) == 3
    assert sms.status == "failed" and sms.attempts == 3 and sms.error == "网络超时" and sms.sent_at is None
    # A late duplicate of the task changes nothing.
    send_delivery(sms.pk)
    assert len(counting.calls) == 3


def test_a_retry_that_succeeds_is_sent(alice, counting, django_capture_on_commit_callbacks):
    """X-7: a transient failure followed by success ends as sent after two attempts."""
    counting.outcomes = [SmsError("服务繁忙"), "ok"]
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice, channels=("sms",))
    sms = deliveries(note)["sms"]
    assert sms.status == "sent" and sms.attempts == 2 and sms.error == "" and sms.provider_ref == "ref-2"


def test_permanent_errors_are_not_retried(alice, counting, django_capture_on_commit_callbacks):
    """X-7: an error no retry can fix (bad number, template missing) fails after one attempt."""
    counting.outcomes = [SmsError("号码无效", retryable=False)]
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice, channels=("sms",))
    sms = deliveries(note)["sms"]
    assert sms.status == "failed" and sms.attempts == 1 and len(counting.calls) == 1


def test_unexpected_errors_are_recorded(alice, counting, django_capture_on_commit_callbacks, settings):
    """X-7: even a programming error in a backend is recorded on the delivery, never lost."""
    settings.NOTIFY_MAX_ATTEMPTS = 1
    counting.outcomes = [KeyError("boom")]
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice, channels=("sms",))
    sms = deliveries(note)["sms"]
    assert sms.status == "failed" and "boom" in sms.error


def test_email_failure_is_recorded(alice, settings, django_capture_on_commit_callbacks):
    """X-7: an unreachable mail server leaves a failed e-mail delivery with the reason."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.NOTIFY_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        note = remind(alice, channels=("email",))
    email = deliveries(note)["email"]
    assert email.status == "failed" and email.attempts == 2 and "邮件发送失败" in email.error


def test_file_email_backend_writes_a_file(alice, settings, tmp_path, django_capture_on_commit_callbacks):
    """X-7: with Django's file-based e-mail backend each message lands in EMAIL_FILE_PATH."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    with django_capture_on_commit_callbacks(execute=True):
        remind(alice, channels=("email",))
    [written] = list((tmp_path / "mail").iterdir())
    content = written.read_text(encoding="utf-8")
    assert "alice@example.org" in content


def test_file_sms_backend_writes_one_json_line_per_message(tmp_path):
    """X-7: FileSmsBackend appends one JSON line per message, Chinese kept readable."""
    path = tmp_path / "sub" / "sms.log"
    backend = FileSmsBackend(path=path)
    backend.send(SmsMessage(phone="13800000000", text="第一条", template="generic", params={"title": "甲"}))
    backend.send(SmsMessage(phone="13900000000", text="第二条"))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "第一条" in lines[0]
    first, second = (json.loads(line) for line in lines)
    assert first["phone"] == "138****0000" and first["params"] == {"title": "甲"}
    assert second["text"] == "第二条" and second["ref"] != first["ref"]


def test_console_sms_backend_prints(capsys):
    """X-7: the development console backend prints each SMS, the number masked (issue 14 item 6)."""
    stream = io.StringIO()
    ref = ConsoleSmsBackend(stream=stream).send(SmsMessage(phone="13800000000", text="控制台短信"))
    assert "138****0000 控制台短信" in stream.getvalue() and ref.startswith("console-")
    assert "13800000000" not in stream.getvalue()


@pytest.mark.parametrize(
    ("code", "context", "title", "body_part", "sms"),
    [
        (
            "appointment_reminder",
            {"start": START, "place": "二社区室"},
            "预约提醒：3月9日 14:30",
            "2026年3月9日 14:30 开始，地点：二社区室",
            "您有一个预约将于3月9日14:30开始，详情：https://x.example.cn/",
        ),
        (
            "home_visit_due",
            {"due_date": datetime.date(2026, 4, 1), "count": 3},
            "上门关怀将于 4月1日 到期",
            "有 3 项上门关怀应于 2026年4月1日 前完成，请安排至少两名工作人员上门",
            "您有上门关怀任务将于4月1日到期，请登录心援平台查看：https://x.example.cn/",
        ),
        (
            "inquiry_reply_overdue",
            {"due_date": datetime.date(2026, 3, 12), "received_at": START},
            "远程咨询回复已逾期",
            "（3月9日 14:30 收到）应于 2026年3月12日 前回复，现已逾期",
            "您有一条远程咨询已超过回复期限（3月12日），请尽快登录心援平台处理：https://x.example.cn/",
        ),
        (
            "warning_feedback_due",
            {"colour": "橙色", "due_date": datetime.date(2026, 3, 20)},
            "橙色预警反馈将于 3月20日 到期",
            "一条橙色预警的反馈期限为 2026年3月20日",
            "您负责的一条预警反馈将于3月20日到期，请登录心援平台处理：https://x.example.cn/",
        ),
        (
            "generic",
            {"title": "系统维护", "body": "今晚 22:00 停机。"},
            "系统维护",
            "今晚 22:00 停机。",
            "系统维护。请登录心援平台查看：https://x.example.cn/",
        ),
    ],
)
def test_templates_render_in_chinese(code, context, title, body_part, sms, settings):
    """X-7: each built-in template renders its Chinese title, body and SMS, times in Beijing time; every SMS ends
    with the platform's full address (issue 13 item 10)."""
    settings.SITE_URL = "https://x.example.cn"
    rendered = catalog.render(code, context)
    assert rendered.title == title
    assert body_part in rendered.body
    assert rendered.sms == sms
    assert all(rendered.sms_params.values())


def test_templates_do_not_html_escape():
    """X-7: texts are plain (SMS, e-mail); escaping is the page's job."""
    rendered = catalog.render("generic", {"title": "A & B <重要>", "body": '"引号"'})
    assert rendered.title == "A & B <重要>" and rendered.body == '"引号"'


def test_unknown_template_code_is_a_clear_error(alice):
    """X-7: an unknown template code is refused in Chinese, listing the known codes; nothing written."""
    with pytest.raises(ValidationError) as error:
        services.notify_user(user=alice, template="no_such_thing", context={})
    message = error.value.messages[0]
    assert "未知的通知模板代码“no_such_thing”" in message and "appointment_reminder" in message
    assert error.value.code == "unknown_template"
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_missing_context_and_unknown_channel_are_refused(alice):
    """X-7: a template missing its required values, or an unknown channel, writes nothing."""
    with pytest.raises(ValidationError, match="缺少必要内容：start"):
        services.notify_user(user=alice, template="appointment_reminder", context={"place": "某处"})
    with pytest.raises(ValidationError, match="未知的通知渠道：wechat"):
        services.notify_user(user=alice, template="generic", context={"title": "x"}, channels=("inapp", "wechat"))
    assert not Notification.objects.exists()


def test_long_titles_are_shortened(alice):
    """X-7: a title longer than the column is cut with an ellipsis instead of failing."""
    note = services.notify_user(user=alice, template="generic", context={"title": "长" * 300})
    assert len(note.title) == 200 and note.title.endswith("…")


def test_registering_a_conflicting_template_is_refused():
    """X-7: two modules cannot register different words under one code."""
    from django.core.exceptions import ImproperlyConfigured

    clash = catalog.NotificationTemplate(
        code="generic", name="冲突", category="system", title="x", body="x", sms="x", required=()
    )
    with pytest.raises(ImproperlyConfigured):
        catalog.register_template(clash)
    assert catalog.register_template(catalog.GENERIC) is catalog.GENERIC


def test_times_follow_beijing_time():
    """X-7: an aware UTC time is shown in Asia/Shanghai."""
    late = datetime.datetime(2026, 3, 9, 17, 0, tzinfo=datetime.UTC)  # 01:00 next day in Shanghai
    assert catalog.render("appointment_reminder", {"start": late}).title == "预约提醒：3月10日 01:00"
    assert late.astimezone(SHANGHAI).day == 10
