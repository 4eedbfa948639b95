"""Reminder providers (apps.notifications.reminders) of written work reports and duty reports.

Each yields what is due now; the dedupe key carries the day, so an overdue report is reminded
once a day until it is received.
"""

import datetime as dt

from apps.notifications.reminders import DueReminder

from .choices import Attendance
from .models import DutyReport, Invitation
from .selectors import SHANGHAI


def work_reports_due(now):
    """H-ORG-5: remind the excused invitee the day before the due day, and daily once overdue."""
    day = now.astimezone(SHANGHAI).date()
    tomorrow = day + dt.timedelta(days=1)
    rows = (
        Invitation.objects.filter(
            attendance=Attendance.EXCUSED, report_due__isnull=False, report_received_at__isnull=True,
            report_due__lte=tomorrow, user__is_active=True,
        )
        .exclude(report_due=day)
        .select_related("meeting", "user")
        .order_by("id")
    )  # fmt: skip
    for row in rows:
        state = "due" if row.report_due == tomorrow else "overdue"
        title = "书面工作报告明天到期" if state == "due" else "书面工作报告已逾期"
        body = f"您请假未出席“{row.meeting.title}”，书面工作报告应于 {row.report_due:%Y年%m月%d日} 前提交。"
        yield DueReminder(
            row.user, "generic", {"title": title, "body": body}, "/governance/mine/",
            f"work-report:{row.pk}:{state}:{day.isoformat()}",
        )  # fmt: skip


def duty_reports_due(now):
    """H-ORG-5: remind a leader whose duty report is due tomorrow or overdue (not yet submitted)."""
    day = now.astimezone(SHANGHAI).date()
    tomorrow = day + dt.timedelta(days=1)
    rows = (
        DutyReport.objects.filter(
            received_at__isnull=True, submitted_at__isnull=True, due_date__lte=tomorrow, leader__is_active=True
        )
        .exclude(due_date=day)
        .select_related("leader")
        .order_by("id")
    )
    for row in rows:
        state = "due" if row.due_date == tomorrow else "overdue"
        title = "述职报告明天到期" if state == "due" else "述职报告已逾期"
        body = f"{row.year} 年度述职报告应于 {row.due_date:%Y年%m月%d日} 前提交。"
        yield DueReminder(
            row.leader, "generic", {"title": title, "body": body}, "/governance/mine/",
            f"duty-report:{row.pk}:{state}:{day.isoformat()}",
        )  # fmt: skip
