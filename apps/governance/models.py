"""Meetings of the association's bodies and units, attendance, leave, work reports and duty reports.

Every row belongs to an org unit of an association tree: ``unit_path`` copies the path of the
meeting's (or duty report's) unit so that ``apps.core.access.scope`` filters by one indexed prefix.
Only ``apps.governance.services`` writes these rows.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import AgendaKind, Attendance, Body, LeaveStatus, MeetingStatus

DEFAULT_WORK_REPORT_DAYS = 7


def _user_fk(label, related_name="+", null=True):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name=related_name,
        verbose_name=label,
    )


class Meeting(models.Model):
    """A meeting of a body (general assembly, board, standing board, secretariat) or of a unit.

    ``is_work_meeting`` marks a periodic work meeting (阶段性工作会议): an invitee excused from one
    owes a written work report within ``work_report_days`` calendar days (H-ORG-5).
    ``recorded_after_held`` marks a meeting entered after it took place; no other meeting starts in the past.
    """

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    body = models.CharField("会议类别", max_length=20, choices=Body.choices)
    title = models.CharField("会议名称", max_length=100)
    starts_at = models.DateTimeField("开始时间")
    place = models.CharField("地点", max_length=100)
    is_work_meeting = models.BooleanField("阶段性工作会议", default=True)
    # A meeting entered after it was held (补录): the only way a start time in the past is accepted (H-ORG-5).
    recorded_after_held = models.BooleanField("补录（会议已召开）", default=False)
    work_report_days = models.PositiveSmallIntegerField("书面报告期限（天）", default=DEFAULT_WORK_REPORT_DAYS)
    status = models.CharField("状态", max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    minutes = models.TextField("会议纪要", blank=True)
    resolutions = models.TextField("决议", blank=True)
    invitees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Invitation",
        through_fields=("meeting", "user"),
        related_name="+",
        verbose_name="参会人员",
    )
    created_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "会议"
        verbose_name_plural = "会议"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="meeting_scope_id"),
            models.Index(fields=["starts_at"], name="meeting_starts"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(title=""), name="meeting_title_not_empty"),
            models.CheckConstraint(
                condition=models.Q(work_report_days__gte=1, work_report_days__lte=60), name="meeting_report_days_range"
            ),
        ]

    def __str__(self):
        # The local (Asia/Shanghai) day: a 06:48 meeting in Beijing is on the previous day in UTC.
        return f"{self.title}（{timezone.localtime(self.starts_at):%Y-%m-%d}）"


class AgendaItem(models.Model):
    """One agenda item; a ``duty_report`` item is a leader's duty report (述职) given at the meeting."""

    scope_path_field = "meeting__unit_path"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda", verbose_name="会议")
    position = models.PositiveSmallIntegerField("序号")
    title = models.CharField("议题", max_length=200)
    kind = models.CharField("类型", max_length=20, choices=AgendaKind.choices, default=AgendaKind.ITEM)

    class Meta:
        verbose_name = "议程"
        verbose_name_plural = "议程"
        ordering = ["meeting", "position"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"], name="agenda_unique_position")]

    def __str__(self):
        return self.title


class Invitation(models.Model):
    """One invitee of a meeting: attendance, leave request and the work report owed after leave.

    ``report_due`` is computed once, when the leave is approved for a work meeting; a report is
    owed while ``attendance = excused`` and ``report_received_at`` is empty, overdue after the due day.
    """

    scope_path_field = "unit_path"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations", verbose_name="会议")
    user = _user_fk("参会人员", related_name="+", null=False)
    unit_path = models.CharField(max_length=255, editable=False)
    attendance = models.CharField("出席情况", max_length=10, choices=Attendance.choices, default=Attendance.PENDING)
    leave_status = models.CharField("请假", max_length=10, choices=LeaveStatus.choices, default=LeaveStatus.NONE)
    leave_reason = models.TextField("请假事由", blank=True)
    leave_requested_at = models.DateTimeField("请假时间", null=True, blank=True)
    leave_decided_by = _user_fk("审批人")
    leave_decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    leave_decision_note = models.CharField("审批意见", max_length=200, blank=True)
    report_due = models.DateField("书面报告期限", null=True, blank=True)
    report_text = models.TextField("书面工作报告", blank=True)
    report_received_at = models.DateTimeField("报告收到时间", null=True, blank=True)
    report_received_by = _user_fk("报告登记人")
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "参会邀请"
        verbose_name_plural = "参会邀请"
        ordering = ["meeting", "id"]
        indexes = [
            models.Index(fields=["unit_path", "id"], name="invitation_scope_id"),
            models.Index(fields=["user", "meeting"], name="invitation_user"),
            models.Index(fields=["report_due", "report_received_at"], name="invitation_report_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="invitation_unique_user"),
            models.CheckConstraint(
                condition=~models.Q(attendance="excused") | models.Q(leave_status="approved"),
                name="invitation_excused_needs_approved_leave",
            ),
        ]

    def __str__(self):
        return f"参会邀请 #{self.pk}"

    @property
    def report_owed(self) -> bool:
        return self.attendance == Attendance.EXCUSED and self.report_due is not None and not self.report_received_at


class DutyReport(models.Model):
    """A leader's yearly duty report (述职报告, H-ORG-5): requested by the secretariat, submitted
    by the leader, marked received by the secretariat; missing = due day passed and not received."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    year = models.PositiveSmallIntegerField("年度")
    leader = _user_fk("述职人", null=False)
    position_title = models.CharField("职务", max_length=50)
    due_date = models.DateField("提交期限")
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="duty_reports", verbose_name="述职会议"
    )
    content = models.TextField("述职内容", blank=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    received_at = models.DateTimeField("收到时间", null=True, blank=True)
    received_by = _user_fk("登记人")
    created_by = _user_fk("布置人")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "述职报告"
        verbose_name_plural = "述职报告"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="duty_scope_id"),
            models.Index(fields=["due_date", "received_at"], name="duty_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "leader"], name="duty_unique_leader_year"),
            models.CheckConstraint(condition=models.Q(year__gte=2000, year__lte=2100), name="duty_year_range"),
        ]

    def __str__(self):
        return f"{self.year} 年度述职报告 #{self.pk}"
