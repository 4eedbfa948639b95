"""Background jobs of the notifications module (found by ``manage.py run_huey``)."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task
from huey.exceptions import RetryTask

from . import services
from .choices import DeliveryStatus


@db_task()
def send_delivery(delivery_id: int):
    """Send one queued SMS or e-mail; ask huey to run again later while attempts remain.

    The number of attempts is counted on the delivery row, not by huey, so the bound holds even
    when the task is enqueued twice or the worker restarts.
    """
    delivery = services.do_send_delivery(delivery_id=delivery_id)
    if delivery is not None and delivery.status == DeliveryStatus.QUEUED:
        delay = settings.NOTIFY_RETRY_DELAY * delivery.attempts
        # No delay: huey re-enqueues at once (and in immediate mode runs it at once).
        raise RetryTask(delay=delay) if delay else RetryTask()
    return delivery.status if delivery is not None else None


@db_periodic_task(crontab(minute="*/15"))
def send_due_reminders():
    """Every 15 minutes: send the reminders that registered providers report as due."""
    return services.do_send_due_reminders()
