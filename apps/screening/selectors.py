"""Reads for screening: scoped lists, and duplicate detection against the whole tree's register.

Duplicates are looked for in the actor's whole tree (the tenant), not only in their scope, so a
person already registered by a sibling community is not registered twice. What the caller learns
about a match outside the actor's scope is only that it exists: no name, unit or record number.
"""

from dataclasses import dataclass, field

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
    results: dict[object, dict[int, Match]] = {}

    def add(person, client_id, unit_path, how):
        per_person = results.setdefault(person.key, {})
        match = per_person.get(client_id)
        if match is None:
            match = per_person[client_id] = Match(
                client_id, unit_path, bool(scope_path) and unit_path.startswith(scope_path)
            )
        if how not in match.matched_on:
            match.matched_on.append(how)

    with unscoped("duplicate detection across the tenant; callers reveal only in-scope details"):
        base = Client.objects.filter(tenant_id=tenant_id, merged_into__isnull=True)
        for source, how in (("id_number", "id_number"), ("phone", "phone")):
            field_ = index_field[source]
            wanted = _digests(people, source, field_.normalizer)
            for chunk in _chunks(list(wanted)):
                rows = base.filter(**{f"{field_.name}__in": chunk}).values_list("pk", "unit_path", field_.name)
                for pk, unit_path, digest in rows:
                    for person in wanted.get(digest, ()):
                        add(person, pk, unit_path, how)
        field_ = index_field["name"]
        wanted = _digests([p for p in people if p.birth_date], "name", field_.normalizer)
        for chunk in _chunks(list(wanted)):
            rows = base.filter(name_index__in=chunk, birth_date__isnull=False).values_list(
                "pk", "unit_path", "name_index", "birth_date"
            )
            for pk, unit_path, digest, birth in rows:
                for person in wanted.get(digest, ()):
                    if person.birth_date == birth:
                        add(person, pk, unit_path, "name_birth")
    return {key: sorted(found.values(), key=lambda m: m.client_id) for key, found in results.items()}


def screened_pairs(pairs: set[tuple[int, object]]) -> set[tuple[int, object]]:
    """Which (client id, screened_on) pairs already have a screening record (re-import check)."""
    found = set()
    client_ids = sorted({client_id for client_id, _ in pairs})
    with unscoped("idempotency check of an import; returns ids and dates only"):
        for chunk in _chunks(client_ids, 1000):
            rows = ScreeningRecord.objects.filter(client_id__in=chunk).values_list("client_id", "screened_on")
            found.update(pair for pair in rows if pair in pairs)
    return found
