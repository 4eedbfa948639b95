import json

from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManagerMixin, ScopedQuerySetMixin
from apps.vault.fields import BlindIndexField, EncryptedCharField, EncryptedTextField
from apps.vault.models import VaultModel, VaultQuerySet
from apps.vault.normalizers import normalize_phone

from .choices import Channel, RoomKind, Status, Weekday


class Room(models.Model):
    """A room of a service unit (功能室) that appointments can be booked into."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    name = models.CharField("名称", max_length=50)
    kind = models.CharField("类型", max_length=20, choices=RoomKind.choices, default=RoomKind.INDIVIDUAL)
    capacity = models.PositiveSmallIntegerField("容纳人数", default=2)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "咨询室"
        verbose_name_plural = "咨询室"
        ordering = ["unit_path", "name"]
        indexes = [models.Index(fields=["unit_path", "id"], name="room_scope_id")]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="room_unit_name_unique")]

    def __str__(self):
        return self.name


class Availability(models.Model):
    """Weekly hours a counsellor works at a unit: one weekday, from ``start`` to ``end``."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="服务单位")
    unit_path = models.CharField(max_length=255, editable=False)
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="咨询师"
    )
    weekday = models.PositiveSmallIntegerField("星期", choices=Weekday.choices)
    start = models.TimeField("开始时间")
    end = models.TimeField("结束时间")

    class Meta:
        verbose_name = "咨询师值班时间"
        verbose_name_plural = "咨询师值班时间"
        ordering = ["unit_path", "weekday", "start"]
        indexes = [
            models.Index(fields=["unit_path", "id"], name="avail_scope_id"),
            models.Index(fields=["unit", "weekday"], name="avail_unit_weekday"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="avail_end_after")]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class OpeningHours(models.Model):
    """When a unit is open (开放时间): one weekday, from ``opens`` to ``closes``; several rows make a
    day with a break. A unit without rows inherits its nearest ancestor's table, and a tree without
    any uses ``services.DEFAULT_OPENING_HOURS`` (Monday–Friday 08:30–17:30)."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", verbose_name="服务单位")
    unit_path = models.CharField(max_length=255, editable=False)
    weekday = models.PositiveSmallIntegerField("星期", choices=Weekday.choices)
    opens = models.TimeField("开门时间")
    closes = models.TimeField("关门时间")

    class Meta:
        verbose_name = "单位开放时间"
        verbose_name_plural = "单位开放时间"
        ordering = ["unit_path", "weekday", "opens"]
        indexes = [models.Index(fields=["unit_path", "id"], name="opening_scope_id")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")),
                name="opening_closes_after",
                violation_error_message="关门时间须晚于开门时间。",
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class AppointmentQuerySet(ScopedQuerySetMixin, VaultQuerySet):
    pass


class AppointmentManager(ScopedManagerMixin, models.Manager.from_queryset(AppointmentQuerySet)):
    pass


class Appointment(VaultModel):
    """An appointment (预约, S-FLOW-1) with a counsellor, optionally in a room, at one unit.

    Contact details, basic information and needs are encrypted; the phone has a blind index (the
    public form's per-phone daily limit). Double booking is impossible because every counsellor
    and room hour an active appointment holds is a ``BookedSlot`` row under a unique constraint.
    """

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="服务单位")
    unit_path = models.CharField(max_length=255, editable=False)
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="来访者"
    )
    contact_name = EncryptedCharField("联系人姓名", max_length=50)
    contact_phone = EncryptedCharField("联系电话", max_length=20)
    contact_phone_index = BlindIndexField(source="contact_phone", normalizer=normalize_phone)
    channel = models.CharField("预约方式", max_length=10, choices=Channel.choices, default=Channel.ONSITE)
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="咨询师",
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="咨询室"
    )
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    told_service_content_flow_counsellor = models.BooleanField("已告知服务内容、流程和咨询师信息", default=False)
    told_confidentiality_and_change_cancel = models.BooleanField("已告知保密原则及更改、取消预约的方式", default=False)
    basic_info = EncryptedTextField("基本信息", blank=True)  # JSON: gender, age, family, address
    needs_symptoms = EncryptedTextField("需求与症状")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.REQUESTED)
    # A unit manager may book outside the counsellor's duty hours or the unit's opening hours, with a reason.
    hours_override = models.BooleanField("负责人批准在服务时间以外预约", default=False)
    override_reason = models.CharField("服务时间以外预约的理由", max_length=200, blank=True)
    status_reason = EncryptedTextField("改约/取消原因", blank=True)
    reference = models.CharField("预约号", max_length=12, unique=True, editable=False)
    public_request = models.BooleanField("网上自助预约", default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="登记人"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentManager()

    class Meta:
        verbose_name = "预约"
        verbose_name_plural = "预约"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="appt_scope_id"),
            models.Index(fields=["unit_path", "starts_at"], name="appt_scope_start"),
            models.Index(fields=["counsellor", "starts_at"], name="appt_counsellor_start"),
            models.Index(fields=["contact_phone_index", "created_at"], name="appt_phone_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="appt_end_after")
        ]

    def __str__(self):
        # Never the contact's name: str() ends up in logs and audit labels.
        return f"预约 {self.reference}"

    @property
    def basic(self) -> dict:
        try:
            value = json.loads(self.basic_info or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def is_active(self) -> bool:
        return self.status in (Status.REQUESTED, Status.CONFIRMED, Status.CHANGED)


class BookedSlot(models.Model):
    """One hour of one resource held by an active appointment.

    ``resource_key`` is ``c:<counsellor id>`` or ``r:<room id>``; ``slot_start`` is the start of
    the hour. The unique constraint is what makes double booking impossible even when two
    requests commit at the same moment, on SQLite and PostgreSQL alike.
    """

    resource_key = models.CharField(max_length=20)
    slot_start = models.DateTimeField()
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="slots")

    class Meta:
        verbose_name = "已占用时段"
        verbose_name_plural = "已占用时段"
        constraints = [
            models.UniqueConstraint(fields=["resource_key", "slot_start"], name="bookedslot_resource_slot_unique")
        ]

    def __str__(self):
        return f"{self.resource_key}@{self.slot_start:%Y-%m-%d %H:%M}"


class PublicBookingCheck(VaultModel):
    """A public booking waiting for the SMS code sent to its phone (S-FLOW-1, issue 14 item 4).

    It holds no hour: ``free_slots`` never looks at this table. Only the right code, entered before
    ``expires_at`` and within the allowed attempts, turns it into a requested ``Appointment``; the
    row is deleted then, and expired rows are purged by the periodic task. The code is kept only as
    a salted HMAC; the form data are encrypted like an appointment's.
    """

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", verbose_name="服务单位")
    contact_phone = EncryptedCharField("联系电话", max_length=20)
    contact_phone_index = BlindIndexField(source="contact_phone", normalizer=normalize_phone)
    payload = EncryptedTextField("预约内容")  # JSON of the checked form data
    code_hash = models.CharField(max_length=100)
    attempts = models.PositiveSmallIntegerField("已输错次数", default=0)
    expires_at = models.DateTimeField("验证码失效时间")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "待验证的网上预约"
        verbose_name_plural = "待验证的网上预约"
        indexes = [models.Index(fields=["expires_at"], name="apptcheck_expires")]

    def __str__(self):
        return f"待验证预约 #{self.pk}"
