"""``{% deadline record "reply_due" %}``: a stored deadline, with the "预估" badge when it is an estimate.

Every page and list that shows a stored working-day deadline uses this tag, so an estimate looks the
same everywhere. ``full=True`` (a record's own page) also prints the reason under the date; ``empty``
is shown when the record has no deadline.
"""

from django import template

from apps.workdays.deadlines import ESTIMATE_BADGE, estimated_field, reason_field

register = template.Library()


@register.inclusion_tag("includes/deadline.html")
def deadline(record, due_field: str, full: bool = False, empty: str = "—", fmt: str = "Y-m-d"):
    return {
        "due": getattr(record, due_field, None),
        "estimated": bool(getattr(record, estimated_field(due_field), False)),
        "reason": getattr(record, reason_field(due_field), ""),
        "badge": ESTIMATE_BADGE,
        "full": full,
        "empty": empty,
        "fmt": fmt,
    }
