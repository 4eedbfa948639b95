"""Reads of the audit log, scoped to the auditor.

An auditor sees the entries whose active unit lies in their subtree; entries without a unit
(system actions, anonymous requests, failed logins) only when assigned at the root of a tree.
"""

import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.core.access import active_grant, scope
from apps.core.perms import Perm
from apps.orgs.models import PATH_SEPARATOR

from .choices import AuditAction
from .models import AuditEntry


def _is_root_path(path: str) -> bool:
    return bool(path) and path.count(PATH_SEPARATOR) == 2  # "/7/"


def visible_entries(user) -> QuerySet:
    """The audit entries ``user`` may read with ``Perm.AUDIT_VIEW``; nothing by default."""
    rows = scope(AuditEntry.objects.all(), user, Perm.AUDIT_VIEW)
    grant = active_grant(user)
    if grant is not None and Perm.AUDIT_VIEW in grant.permissions and _is_root_path(grant.unit_path):
        rows = rows | AuditEntry.objects.filter(unit_path="")
    return rows


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def search_entries(user, filters: dict | None = None) -> QuerySet:
    """Visible entries matching ``filters`` (cleaned ``AuditFilterForm`` data; empty values ignored).

    ``user`` matches the actor's username, and failed logins attempted with that username.
    Dates are whole local days, both ends included.
    """
    rows = visible_entries(user)
    filters = filters or {}
    if filters.get("user"):
        name = filters["user"]
        rows = rows.filter(Q(actor_username=name) | Q(action=AuditAction.LOGIN_FAILED, object_label=name))
    for key in ("action", "outcome", "object_type", "object_id"):
        if filters.get(key):
            rows = rows.filter(**{key: filters[key]})
    if filters.get("date_from"):
        rows = rows.filter(created_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        rows = rows.filter(created_at__lt=_day_start(filters["date_to"] + dt.timedelta(days=1)))
    return rows


def access_entry_by_id(user, pk) -> AuditEntry:
    """One visible entry, or 404 — the same answer for missing and out of scope."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    entry = visible_entries(user).select_related("actor").filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry
