"""Keyset pagination for list pages: no COUNT(*), no deep OFFSET.

A page is ``?after=<id>`` (next) or ``?before=<id>`` (previous) over rows ordered by id; we fetch
one row more than the page to know whether another page follows.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet


@dataclass
class KeysetPage:
    items: list
    has_next: bool
    has_previous: bool
    next_after: int | None = None
    previous_before: int | None = None
    querystring: str = field(default="")

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def _cursor(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def keyset_page(queryset: QuerySet, request, per_page: int | None = None, descending: bool = False) -> KeysetPage:
    """Return one page of ``queryset`` by ascending id, driven by ``after`` / ``before`` GET params.

    With ``descending`` the rows run newest (highest id) first; ``after`` still means "the page
    that follows in display order".
    """
    per_page = per_page or settings.PAGE_SIZE
    after = _cursor(request.GET.get("after"))
    before = _cursor(request.GET.get("before"))
    order, reverse_order = ("-pk", "pk") if descending else ("pk", "-pk")
    following, preceding = ("pk__lt", "pk__gt") if descending else ("pk__gt", "pk__lt")
    if before:
        rows = list(queryset.filter(**{preceding: before}).order_by(reverse_order)[: per_page + 1])
        has_previous = len(rows) > per_page
        items = list(reversed(rows[:per_page]))
        has_next = True
    else:
        if after:
            queryset = queryset.filter(**{following: after})
        rows = list(queryset.order_by(order)[: per_page + 1])
        has_next = len(rows) > per_page
        items = rows[:per_page]
        has_previous = after is not None
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
