"""Periodic reminders: registered providers, the 15-minute huey task, each reminder sent once (X-7)."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.notifications.models import Delivery, Notification, SentReminder
from apps.notifications.reminders import DueReminder, register_reminder_provider, unregister_reminder_provider
from apps.notifications.tasks import send_due_reminders

DUE = datetime.date(2026, 4, 1)


@pytest.fixture
def provider(alice, bob):
    """A test provider standing in for a later module's: two visits due, offered on every scan."""
    seen = []

    def due_home_visits(now):
        seen.append(now)
        yield (alice, "home_visit_due", {"due_date": DUE}, "/visits/1/", "visit:1")
        yield DueReminder(
            bob, "home_visit_due", {"due_date": DUE, "count": 2}, "/visits/2/", "visit:2", ("inapp", "sms")
        )
        yield (alice, "home_visit_due", {"due_date": DUE}, "/visits/1/", "visit:1")  # duplicate in one scan

    register_reminder_provider("test.visits", due_home_visits)
    yield seen
    unregister_reminder_provider("test.visits")


def test_periodic_task_sends_each_reminder_once(provider, alice, bob, django_capture_on_commit_callbacks):
    """X-7: the huey periodic task sends what providers report as due, and never the same key twice."""
    with django_capture_on_commit_callbacks(execute=True):
        send_due_reminders()
    assert len(provider) == 1 and provider[0].tzinfo is not None
    assert Notification.objects.filter(recipient=alice).count() == 1
    assert Notification.objects.filter(recipient=bob).count() == 1
    assert set(SentReminder.objects.values_list("key", flat=True)) == {"test.visits:visit:1", "test.visits:visit:2"}
    bobs = Notification.objects.get(recipient=bob)
    assert bobs.url == "/visits/2/" and "有 2 项上门关怀" in bobs.body
    assert Delivery.objects.get(notification=bobs, channel="sms").status == "sent"
    assert SentReminder.objects.get(key="test.visits:visit:2").notification == bobs

    with django_capture_on_commit_callbacks(execute=True):
        send_due_reminders()
        send_due_reminders()
    assert len(provider) == 3
    assert Notification.objects.count() == 2
    assert SentReminder.objects.count() == 2


def test_a_broken_provider_does_not_stop_the_others(alice):
    """X-7: a provider that raises is logged and skipped; the providers after it still send."""

    def broken(now):
        raise RuntimeError("查询出错")

    def fine(now):
        return [(alice, "generic", {"title": "照常发送"}, "", "fine")]

    register_reminder_provider("test.broken", broken)
    register_reminder_provider("test.fine", fine)
    try:
        send_due_reminders()
    finally:
        unregister_reminder_provider("test.broken")
        unregister_reminder_provider("test.fine")
    assert list(Notification.objects.values_list("title", flat=True)) == ["照常发送"]


def test_bad_reminders_are_not_recorded(alice, tree):
    """X-7: a reminder with an unknown template or for a disabled account is not marked as sent."""
    from conftest import make_user

    gone = make_user("gone", tree.c1, "counsellor", is_active=False)

    def mixed(now):
        yield (alice, "no_such_template", {}, "", "bad-template")
        yield (gone, "generic", {"title": "停用账号"}, "", "disabled")
        yield (alice, "generic", {"title": "正常提醒"}, "", "good")

    register_reminder_provider("test.mixed", mixed)
    try:
        send_due_reminders()
    finally:
        unregister_reminder_provider("test.mixed")
    assert list(SentReminder.objects.values_list("key", flat=True)) == ["test.mixed:good"]
    assert list(Notification.objects.values_list("title", flat=True)) == ["正常提醒"]


def test_the_task_runs_every_fifteen_minutes():
    """X-7: the reminder scan is scheduled at :00, :15, :30 and :45."""
    at = datetime.datetime(2026, 3, 9, 10, 0)  # noqa: DTZ001 - huey's crontab takes naive times
    due = [m for m in range(60) if send_due_reminders.task_class().validate_datetime(at.replace(minute=m))]
    assert due == [0, 15, 30, 45]


def test_provider_names_are_unique():
    """X-7: two modules cannot register different providers under one name."""

    def one(now):
        return []

    def two(now):
        return []

    register_reminder_provider("test.unique", one)
    try:
        assert register_reminder_provider("test.unique", one) is one
        with pytest.raises(ImproperlyConfigured):
            register_reminder_provider("test.unique", two)
    finally:
        unregister_reminder_provider("test.unique")
