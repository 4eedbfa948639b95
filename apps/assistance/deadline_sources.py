"""The assistance deadlines that rest on the holiday calendar (apps.workdays.deadlines)."""

from apps.workdays.deadlines import DeadlineSource

from .choices import UNASSIGNED_STATUSES
from .models import HelpRequest
from .reminders import _assigners
from .services import _help_url, shanghai_date

# The length (N working days) came from the unit's settings at receipt; the settings may have changed
# since, so ``days`` is left out and the recompute measures the stored period on the old calendar.
HELP_ASSIGNMENT = DeadlineSource(
    name="assistance.help_assignment",
    label="分派期限",
    due_field="assign_due",
    open_records=lambda: HelpRequest.objects.filter(status__in=UNASSIGNED_STATUSES),
    start=lambda row: shanghai_date(row.received_at),
    notify=lambda row: _assigners(row.unit, {}),  # the people the H-SVC-1 overdue reminders go to
    url=_help_url,
    describe=lambda row: f"个案求助 #{row.pk} ",
)
