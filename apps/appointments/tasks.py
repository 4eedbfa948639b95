"""Background jobs of the appointments module (found by ``manage.py run_huey``)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import services


@db_periodic_task(crontab(minute="*/5"))
def expire_public_bookings():
    """Every 5 minutes: purge expired SMS codes and free the hours of public requests left unconfirmed
    longer than ``PUBLIC_BOOKING_UNCONFIRMED_MINUTES`` (issue 14 item 4)."""
    return services.do_expire_public_bookings()
