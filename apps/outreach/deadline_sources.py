"""The outreach deadlines that rest on the holiday calendar (apps.workdays.deadlines)."""

from apps.workdays.deadlines import DeadlineSource

from .models import RemoteInquiry
from .reminders import unit_staff
from .services import REPLY_WORKING_DAYS, shanghai_date

INQUIRY_REPLY = DeadlineSource(
    name="outreach.inquiry_reply",
    label="回复期限",
    due_field="reply_due",
    open_records=lambda: RemoteInquiry.objects.filter(answered_at__isnull=True, reply_due__isnull=False),
    start=lambda row: shanghai_date(row.received_at),
    days=lambda row: REPLY_WORKING_DAYS,
    notify=lambda row: unit_staff(row.unit, {}),  # the people the S-FLOW-4 reminders go to
    url=lambda row: f"/outreach/inquiries/{row.pk}/",
    describe=lambda row: f"远程咨询 #{row.pk} ",
)
