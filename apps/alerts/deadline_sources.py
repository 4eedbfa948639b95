"""The warning deadlines in the registry of stored deadlines (apps.workdays.deadlines).

Both count calendar days (S-WARN-3: feedback within 3 calendar days; S-WARN-4: cycles of N days), so
holidays never move them: they are registered with ``kind=CALENDAR``, are never estimated and are left
alone when an administrator enters a year's holidays.
"""

from apps.workdays.choices import DeadlineKind
from apps.workdays.deadlines import DeadlineSource

from .choices import TRACKED_STATES
from .models import Warning
from .services import local_date

WARNING_FEEDBACK = DeadlineSource(
    name="alerts.warning_feedback",
    label="反馈期限",
    due_field="feedback_due",
    kind=DeadlineKind.CALENDAR,
    open_records=lambda: Warning.objects.filter(
        state__in=TRACKED_STATES, feedback_sent_at__isnull=True, feedback_due__isnull=False
    ),
    start=lambda row: local_date(row.colour_set_at),
    url=lambda row: f"/alerts/warnings/{row.pk}/",
    describe=lambda row: f"预警 #{row.pk} ",
)

WARNING_CYCLE = DeadlineSource(
    name="alerts.warning_cycle",
    label="随访周期截止日",
    due_field="cycle_due",
    kind=DeadlineKind.CALENDAR,
    open_records=lambda: Warning.objects.filter(state__in=TRACKED_STATES, cycle_due__isnull=False),
    start=lambda row: row.cycle_started,
    url=lambda row: f"/alerts/warnings/{row.pk}/",
    describe=lambda row: f"预警 #{row.pk} ",
)
