"""Reads of the client register, always scoped; exact search by blind index, names by initials."""

import re

from django.http import Http404

from apps.core.access import can, scope
from apps.core.perms import Perm
from apps.core.scoping import unscoped

from .models import Client, EmergencyAccess
from .services import active_emergency_access

ID_RE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
PHONE_RE = re.compile(r"^[+\d][\d\s-]{6,19}$")
INITIALS_RE = re.compile(r"^[A-Za-z]{1,10}$")


def visible_clients(user, perm: str = Perm.CLIENT_VIEW):
    return Client.objects.visible_to(user, perm)


def search_clients(user, q: str = "", category: str = ""):
    """Scoped clients matching ``q``: an ID number or a phone (exact), pinyin initials (prefix)
    or a full name (exact); anything else matches nothing rather than scanning."""
    rows = visible_clients(user).filter(merged_into__isnull=True).select_related("unit")
    q = (q or "").strip()
    if q:
        if ID_RE.match(q):
            rows = rows.search_exact("id_number", q)
        elif PHONE_RE.match(q):
            rows = rows.search_exact("phone", q)
        elif INITIALS_RE.match(q):
            rows = rows.filter(name_initials__startswith=q.lower())
        else:
            rows = rows.search_exact("name", q)
    if category:
        rows = rows.filter(categories__code=category)
    return rows


def find_for_emergency(user, identifier: str) -> Client | None:
    """Find one client by exact ID number or phone in the user's whole tree (break the glass)."""
    identifier = (identifier or "").strip()
    field = "id_number" if ID_RE.match(identifier) else "phone" if PHONE_RE.match(identifier) else None
    if field is None or user.unit is None:
        return None
    with unscoped("break-the-glass lookup by exact identifier, audited by the caller"):
        return (
            Client.objects.search_exact(field, identifier)
            .filter(tenant_id=user.unit.tenant_id)
            .select_related("unit")
            .first()
        )


def access_client_by_id(user, pk, perm: str = Perm.CLIENT_VIEW) -> tuple[Client, EmergencyAccess | None]:
    """Fetch one client in scope, or under the user's live emergency grant; 404 otherwise."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    client = scope(Client.objects.select_related("unit"), user, perm).filter(pk=pk).first()
    if client is not None:
        return client, None
    if perm == Perm.CLIENT_VIEW and can(user, Perm.EMERGENCY_ACCESS):
        grant = active_emergency_access(user, pk)
        if grant is not None:
            with unscoped("live emergency grant checked above"):
                return Client.objects.select_related("unit").get(pk=pk), grant
    raise Http404
