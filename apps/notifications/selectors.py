"""Reads of a user's own notifications. Nobody else's inbox is ever visible."""

from django.db.models import QuerySet
from django.http import Http404

from .models import Notification

BADGE_CAP = 99


def my_notifications(user, show: str = "all") -> QuerySet:
    rows = Notification.objects.filter(recipient=user)
    if show == "unread":
        rows = rows.filter(read_at__isnull=True)
    return rows


def access_notification_by_id(user, pk) -> Notification:
    """One of ``user``'s own notifications, or 404 — the same for missing and someone else's."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    notification = Notification.objects.filter(recipient=user, pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def contact_notifications(topic: str) -> QuerySet:
    """What was sent about ``topic`` to people without an account, oldest first, with deliveries.

    For the sending module's own pages (it checks the reader's access to the matter first); the
    addresses are shown only as the deliveries' masked ``address``.
    """
    return (
        Notification.objects.filter(recipient__isnull=True, topic=topic)
        .defer("contact_phone", "contact_email")
        .prefetch_related("deliveries")
        .order_by("id")
    )


def unread_count(user, cap: int = BADGE_CAP + 1) -> int:
    """How many unread notifications ``user`` has, counting at most ``cap``.

    One query, ``SELECT COUNT(*) FROM (SELECT id ... LIMIT cap)``: it stops after ``cap`` index
    entries however large the inbox is.
    """
    return Notification.objects.filter(recipient=user, read_at__isnull=True).values("pk")[:cap].count()


def badge_text(count: int) -> str:
    """The text of the bell's badge: "" for none, "7", or "99+"."""
    if count == 0:
        return ""
    return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)


def unread_badge(user) -> str:
    return badge_text(unread_count(user))
