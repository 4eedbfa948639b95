"""Reads of the client register, always scoped; exact search by blind index, names by initials."""

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404

from apps.core.access import can, scope
from apps.core.pagination import KeysetPage
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity.phones import normalize_phone

from .models import Client, EmergencyAccess, Guardian
from .services import active_emergency_access

ID_RE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
PHONE_RE = re.compile(r"^[+(\d][\d\s\-()]{6,21}$")
INITIALS_RE = re.compile(r"^[A-Za-z]{1,10}$")


def visible_clients(user, perm: str = Perm.CLIENT_VIEW):
    return Client.objects.visible_to(user, perm)


def phone_query(q: str) -> str:
    """A searched phone number in the form the register stores (E.164, as ``check_client_data``
    saves it), so "0571-87654321", "057187654321" and "(0571)87654321" find "+8657187654321"."""
    try:
        return normalize_phone(q)
    except ValidationError:
        return q


def search_clients(user, q: str = "", category: str = ""):
    """Scoped clients matching ``q``: an ID number or a phone (exact), pinyin initials (prefix)
    or a full name (exact); anything else matches nothing rather than scanning."""
    rows = visible_clients(user).filter(merged_into__isnull=True).select_related("unit")
    q = (q or "").strip()
    if q:
        if ID_RE.match(q):
            rows = rows.search_exact("id_number", q)
        elif PHONE_RE.match(q):
            rows = rows.search_exact("phone", phone_query(q))
        elif INITIALS_RE.match(q):
            rows = rows.filter(name_initials__startswith=q.lower())
        else:
            rows = rows.search_exact("name", q)
    if category:
        rows = rows.filter(categories__code=category)
    return rows


def search_ids(user, q: str = "", category: str = ""):
    """Only the ids of ``search_clients``: answered from the scope or initials index alone, and
    used as the subquery that picks the rows a page or an export then reads."""
    return search_clients(user, q, category).select_related(None).values("pk")


LIST_FIELDS = ("name", "gender", "birth_date", "phone", "unit_path", "unit__name", "unit__path")
# What the register export reads: the list's columns only, so only name and phone are decrypted.
EXPORT_FIELDS = ("pk", "name", "gender", "birth_date", "phone", "unit__name")
EXPORT_CHUNK = 2000


def client_page(user, request, q: str = "", category: str = "") -> KeysetPage:
    """One keyset page of ``search_clients`` (``?after=`` / ``?before=`` as ``keyset_page``), in one
    statement: the page's ids in a subquery, then only those rows.

    Sorting a street's or a district's clients by id to take 50 would otherwise read every row of
    the subtree; the ids alone come from the scope or initials index (index-only scan), and only
    the rows shown are read, with only the columns the list shows (no needless decryption).
    """
    per_page = settings.PAGE_SIZE
    after, before = _cursor(request.GET.get("after")), _cursor(request.GET.get("before"))
    ids = search_ids(user, q, category)
    if before:
        ids = ids.filter(pk__lt=before).order_by("-pk")
    else:
        ids = (ids.filter(pk__gt=after) if after else ids).order_by("pk")
    # The outer query reads exactly the ids the scoped subquery picked, in the same statement; a
    # second ``unit_path LIKE`` there only misleads the planner into reading the whole subtree.
    with unscoped("rows of the ids chosen by the scoped subquery of the same statement"):
        rows = Client.objects.filter(pk__in=ids[: per_page + 1]).select_related("unit").only(*LIST_FIELDS)
        rows = list(rows.order_by("-pk" if before else "pk"))
    if before:
        items, has_previous, has_next = list(reversed(rows[:per_page])), len(rows) > per_page, True
    else:
        items, has_previous, has_next = rows[:per_page], after is not None, len(rows) > per_page
    params = request.GET.copy()
    params.pop("after", None)
    params.pop("before", None)
    return KeysetPage(
        items=items,
        has_next=has_next and bool(items),
        has_previous=has_previous and bool(items),
        next_after=items[-1].pk if items else None,
        previous_before=items[0].pk if items else None,
        querystring=params.urlencode(),
    )


def client_export_rows(user, q: str = "", category: str = ""):
    """Every client of ``search_clients`` (all pages of the list) as ``EXPORT_FIELDS`` tuples in id
    order, streamed ``EXPORT_CHUNK`` rows at a time.

    The same two-step read as ``client_page``: the scoped subquery picks the ids, the outer query
    of the same statement reads only those rows and only the exported columns (one statement,
    no per-row queries; address, employer and ID number are never read, so never decrypted).
    """
    ids = search_ids(user, q, category)
    with unscoped("rows of the ids chosen by the scoped subquery of the same statement"):
        rows = Client.objects.filter(pk__in=ids).order_by("pk").values_list(*EXPORT_FIELDS)
        # The scope check happens here, when the iterator is created; rows are read as consumed.
        return rows.iterator(chunk_size=EXPORT_CHUNK)


def _cursor(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def rows_in_order(page_items, rows) -> list[Client]:
    """The full rows of a page fetched as bare ids, in the page's order; ``rows`` is scoped."""
    found = {c.pk: c for c in rows.filter(pk__in=[c.pk for c in page_items], merged_into__isnull=True)}
    return [found[c.pk] for c in page_items if c.pk in found]


def find_for_emergency(user, identifier: str) -> Client | None:
    """Find one client by exact ID number or phone in the user's whole tree (break the glass)."""
    identifier = (identifier or "").strip()
    field = "id_number" if ID_RE.match(identifier) else "phone" if PHONE_RE.match(identifier) else None
    if field is None or user.unit is None:
        return None
    if field == "phone":
        identifier = phone_query(identifier)
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


def unit_by_code(code: str):
    """The org unit a typed unit code names: spaces (also full-width) dropped, case ignored."""
    from apps.orgs.models import OrgUnit

    code = "".join(unicodedata.normalize("NFKC", code or "").split())
    if not code:
        return None
    return OrgUnit.objects.filter(code__iexact=code).order_by("pk").first()


def client_guardians(client: Client) -> list[Guardian]:
    """A client's guardians for the client page: current ones first, ended ones kept below."""
    rows = client.guardians.select_related("recorded_by", "ended_by")
    return sorted(rows, key=lambda g: (g.ended_at is not None, g.pk))


def access_guardian(user, pk, perm: str = Perm.CLIENT_MANAGE) -> Guardian:
    """One guardian of a client in ``user``'s scope, or 404 (missing and forbidden look the same)."""
    from apps.core.access import access_by_id

    return access_by_id(Guardian.objects.select_related("client", "client__unit"), pk, user, perm)
