"""Reads for screening: scoped lists, and duplicate detection against the whole tree's register.

Duplicates are looked for in the actor's whole tree (the tenant), not only in their scope, so a
person already registered by a sibling community is not registered twice. What the caller learns
about a match outside the actor's scope is only that it exists: no name, unit or record number.
"""

from dataclasses import dataclass, field

from django.db import connections

from apps.clients.models import Client
from apps.core.access import active_grant, scope
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.vault.crypto import blind_index_candidates

from .models import ImportBatch, ScreeningRecord

LOOKUP_CHUNK = 500
MATCH_LABELS = {"id_number": "身份证号码", "phone": "联系电话", "name_birth": "姓名和出生日期"}


def visible_records(user):
    return scope(ScreeningRecord.objects.select_related("client", "unit"), user, Perm.SCREENING_MANAGE)


def visible_batches(user):
    return scope(ImportBatch.objects.select_related("unit", "uploaded_by"), user, Perm.SCREENING_MANAGE)


def scope_path_of(user) -> str:
    """The subtree the user's active grant covers ("" when none)."""
    grant = active_grant(user)
    return grant.unit_path if grant else ""


@dataclass
class Person:
    """The identifying part of one person to check: a key (row number) and normalised values."""

    key: object
    name: str = ""
    birth_date: object = None
    id_number: str = ""
    phone: str = ""


@dataclass
class Match:
    client_id: int
    unit_path: str
    in_scope: bool
    matched_on: list[str] = field(default_factory=list)

    @property
    def labels(self) -> str:
        return "、".join(MATCH_LABELS[m] for m in self.matched_on)


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _digests(people, attr: str, normalizer) -> dict[str, list]:
    """{blind index candidate: [person, …]} for one identifying attribute."""
    found: dict[str, list] = {}
    for person in people:
        value = getattr(person, attr)
        if not value:
            continue
        for digest in blind_index_candidates(value, normalizer):
            found.setdefault(digest, []).append(person)
    return found


def find_register_matches(tenant_id: int, scope_path: str, people: list[Person]) -> dict[object, list[Match]]:
    """For each person, the registered clients of the tenant sharing an ID number, a phone, or
    name and birth date, with whether each lies inside ``scope_path``. Reads only indexes and
    paths (nothing is decrypted) in chunks, so 100,000 people cost a few hundred queries."""
    index_field = {
        f.source: f for f in (Client._meta.get_field(n) for n in ("name_index", "id_number_index", "phone_index"))
    }
    wanted = {}
    for source, chosen in (
        ("id_number", people),
        ("phone", people),
        ("name", [p for p in people if p.birth_date]),
    ):
        found = _digests(chosen, source, index_field[source].normalizer)
        wanted[source] = {digest: [p.key for p in group] for digest, group in found.items()}
    births = {p.key: p.birth_date for p in people}
    return match_digests(tenant_id, scope_path, wanted, births)


def match_digests(
    tenant_id: int, scope_path: str, wanted: dict[str, dict[str, list]], births: dict, chunk_size: int = LOOKUP_CHUNK
) -> dict[object, list[Match]]:
    """The core of ``find_register_matches`` for callers that already hold the blind indexes.

    ``wanted`` maps "id_number", "phone" and "name" to {blind index: [person key, …]} (every
    index a value may be stored under); a name matches only with an equal ``births[key]``. One
    query per ``chunk_size`` indexes and kind.
    """
    results: dict[object, dict[int, Match]] = {}

    def add(key, client_id, unit_path, how):
        per_person = results.setdefault(key, {})
        match = per_person.get(client_id)
        if match is None:
            match = per_person[client_id] = Match(
                client_id, unit_path, bool(scope_path) and unit_path.startswith(scope_path)
            )
        if how not in match.matched_on:
            match.matched_on.append(how)

    for source, column in (("id_number", "id_number_index"), ("phone", "phone_index"), ("name", "name_index")):
        by_digest = wanted.get(source) or {}
        for chunk in _chunks(list(by_digest), chunk_size):
            for pk, unit_path, digest, birth in _register_rows(tenant_id, column, chunk):
                for key in by_digest.get(digest, ()):
                    if source != "name":
                        add(key, pk, unit_path, source)
                    elif birth is not None and births.get(key) == birth:
                        add(key, pk, unit_path, "name_birth")
    return {key: sorted(found.values(), key=lambda m: m.client_id) for key, found in results.items()}


def _register_rows(tenant_id: int, column: str, digests: list[str]):
    """(id, unit_path, blind index, birth date) of the tenant's unmerged clients with one of ``digests``
    in the blind-index ``column``. On PostgreSQL one text parameter carries the indexes (hex digits,
    comma-separated), which the server splits: far cheaper than thousands of parameters."""
    connection = connections[Client.objects.db]
    if connection.vendor != "postgresql":
        with unscoped("duplicate detection across the tenant; callers reveal only in-scope details"):
            return list(
                Client.objects.filter(
                    tenant_id=tenant_id, merged_into__isnull=True, **{f"{column}__in": digests}
                ).values_list("pk", "unit_path", column, "birth_date")
            )
    quote = connection.ops.quote_name
    fields = {
        name: quote(Client._meta.get_field(name).column) for name in ("tenant", "merged_into", column, "birth_date")
    }
    sql = (
        f"SELECT id, unit_path, {fields[column]}, {fields['birth_date']} FROM {quote(Client._meta.db_table)} "  # noqa: S608 - names from the model; values are parameters
        f"WHERE {fields['tenant']} = %s AND {fields['merged_into']} IS NULL "
        f"AND {fields[column]} = ANY(string_to_array(%s, ','))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, ",".join(digests)])
        return cursor.fetchall()


def screened_pairs(pairs: set[tuple[int, object]]) -> set[tuple[int, object]]:
    """Which (client id, screened_on) pairs already have a screening record (re-import check)."""
    found = set()
    client_ids = sorted({client_id for client_id, _ in pairs})
    with unscoped("idempotency check of an import; returns ids and dates only"):
        for chunk in _chunks(client_ids, 1000):
            rows = ScreeningRecord.objects.filter(client_id__in=chunk).values_list("client_id", "screened_on")
            found.update(pair for pair in rows if pair in pairs)
    return found
