"""Reads of outreach records, always scoped to the user's subtree."""

import datetime as dt

from django.db.models import Q

from apps.core.access import active_grant, scope
from apps.core.perms import Perm

from .choices import VisitStatus
from .models import Disclosure, HomeVisit, Intervention, Referral, RemoteInquiry
from .services import today

DUE_AHEAD_DAYS = 7


def visible_inquiries(user, perm: str = Perm.CLIENT_VIEW):
    return scope(RemoteInquiry.objects.select_related("unit"), user, perm)


def overdue_inquiries(user, on: dt.date | None = None):
    """Unanswered inquiries whose reply deadline has passed, in the user's subtree (S-FLOW-4)."""
    on = on or today()
    return visible_inquiries(user).filter(answered_at__isnull=True, reply_due__lt=on).order_by("reply_due", "id")


def inquiries(user, state: str = ""):
    rows = visible_inquiries(user)
    if state == "open":
        rows = rows.filter(answered_at__isnull=True)
    elif state == "overdue":
        rows = rows.filter(answered_at__isnull=True, reply_due__lt=today())
    elif state == "answered":
        rows = rows.filter(answered_at__isnull=False)
    return rows


def list_inquiries(user, params):
    """The inquiry list's rows (every page) for its ``state`` filter; an unknown state shows all."""
    return inquiries(user, params.get("state", "").strip())


def visible_visits(user, perm: str = Perm.CLIENT_VIEW):
    return scope(HomeVisit.objects.select_related("unit", "client"), user, perm)


def my_visits(user, on: dt.date | None = None):
    """Planned visits due within a week (or overdue) that the user is named on, or that nobody is
    named on yet in the user's own unit."""
    on = on or today()
    grant = active_grant(user)
    if grant is None:
        return HomeVisit.objects.none()
    mine = Q(staff=user) | Q(staff__isnull=True, unit_id=grant.unit_id)
    return (
        visible_visits(user)
        .filter(mine, status=VisitStatus.PLANNED, planned_for__lte=on + dt.timedelta(days=DUE_AHEAD_DAYS))
        .distinct()
        .order_by("planned_for", "id")
    )


def visible_interventions(user, perm: str = Perm.CLIENT_VIEW):
    return scope(Intervention.objects.select_related("unit", "recorded_by"), user, perm)


def visible_referrals(user, perm: str = Perm.CLIENT_VIEW):
    return scope(Referral.objects.select_related("unit", "client"), user, perm)


def visible_disclosures(user, perm: str = Perm.CLIENT_VIEW):
    return scope(Disclosure.objects.select_related("recorded_by", "referral"), user, perm)


def client_outreach(user, client) -> dict:
    """Everything of this module about one (already authorised) client, newest first."""
    return {
        "visits": list(visible_visits(user).filter(client=client).order_by("-planned_for", "-id")),
        "interventions": list(visible_interventions(user).filter(client=client).order_by("-happened_at", "-id")),
        "referrals": list(visible_referrals(user).filter(client=client).order_by("-referred_on", "-id")),
        "disclosures": list(visible_disclosures(user).filter(client=client).order_by("-disclosed_at", "-id")),
        "inquiries": list(visible_inquiries(user).filter(client=client).order_by("-received_at", "-id")),
    }
