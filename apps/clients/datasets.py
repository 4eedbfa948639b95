"""The client register as an exportable list (X-3): the rows and columns the register list shows.

Identifiers stay as the list shows them: the name (which the list shows), the phone masked, the
birth date as year and month; no ID number, address, employer or category is read at all.
"""

from apps.core.perms import Perm
from apps.exports.registry import Dataset, register
from apps.identity.masks import mask_mobile

from . import selectors
from .choices import Gender

GENDERS = dict(Gender.choices)


def _filter(filters, name: str) -> str:
    return str((filters or {}).get(name) or "").strip()


def client_rows(user, filters):
    """The register list's rows for ``?q=`` and ``?category=`` (every page), as the list shows them."""
    rows = selectors.client_export_rows(user, _filter(filters, "q"), _filter(filters, "category"))
    for pk, name, gender, birth_date, phone, unit_name in rows:
        yield (
            pk,
            name,
            GENDERS.get(gender, gender),
            birth_date.strftime("%Y-%m") if birth_date else "",
            mask_mobile(phone) if phone else "",
            unit_name,
        )


CLIENTS = register(
    Dataset(
        key="clients",
        label="来访者名单",
        view_permission=Perm.CLIENT_VIEW,
        columns=("编号", "姓名", "性别", "出生年月", "电话（已脱敏）", "所属单位"),
        rows=client_rows,
    )
)
