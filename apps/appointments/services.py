"""Appointment rules (S-FLOW-1, S-FLOW-2): the four things the standard requires, no double booking.

Every counsellor hour and room hour an active appointment holds is a ``BookedSlot`` row, inserted
in the same transaction as the appointment under a unique constraint on (resource, hour). Two
requests racing for the same hour cannot both commit: the loser's insert fails, its whole
transaction rolls back and it gets "该咨询师/咨询室在该时段已有预约". Cancelling or changing an
appointment deletes its rows in the same transaction.
"""

import json
import secrets
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from apps.accounts.roles import COUNSELLING_ROLES
from apps.accounts.selectors import counsellors_over, is_counsellor_over
from apps.audit.choices import AuditAction
from apps.audit.services import log_change, log_event, snapshot
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity.phones import normalize_phone
from apps.orgs.models import OrgUnit

from .choices import ACTIVE, GENDERS, Channel, RoomKind, Status, Weekday
from .models import Appointment, Availability, BookedSlot, OpeningHours, PublicBookingCheck, Room

SLOT_MINUTES = 50
PUBLIC_DAYS = 14
PUBLIC_DAILY_LIMIT = 5
PUBLIC_KINDS = ("community_room", "street_station", "district_centre")
# The counselling roles of apps.accounts.roles (issue 13 item 8: assistants and managers are not counsellors).
COUNSELLOR_ROLES = COUNSELLING_ROLES
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
OVERRIDE_PURPOSE = "服务时间以外预约（负责人批准）"
DOUBLE_BOOKED = "该咨询师/咨询室在该时段已有预约，请选择其他时间、咨询师或咨询室。"


# --- time slots --------------------------------------------------------------------------------
def slot_hours(starts_at: datetime, ends_at: datetime) -> list[datetime]:
    """The starts of the hours ``[starts_at, ends_at)`` touches (aware datetimes)."""
    hour = starts_at.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour < ends_at:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def default_end(starts_at: datetime) -> datetime:
    return starts_at + timedelta(minutes=SLOT_MINUTES)


def max_minutes() -> int:
    """The longest session that may be booked (setting ``APPOINTMENT_MAX_MINUTES``, default 180)."""
    return int(getattr(settings, "APPOINTMENT_MAX_MINUTES", 180))


def check_times(starts_at, ends_at=None) -> tuple[datetime, datetime]:
    """Validate an appointment's time: aware, on the hour, ending after it starts, at most
    ``max_minutes()`` long (S-FLOW-1)."""
    if starts_at is None:
        raise ValidationError({"starts_at": "请选择预约时间。"})
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    local = timezone.localtime(starts_at)
    if local.minute or local.second or local.microsecond:
        raise ValidationError({"starts_at": "预约时间须从整点开始（每次 50 分钟）。"})
    ends_at = ends_at or default_end(starts_at)
    if timezone.is_naive(ends_at):
        ends_at = timezone.make_aware(ends_at)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "结束时间须晚于开始时间。"})
    limit = max_minutes()
    if ends_at - starts_at > timedelta(minutes=limit):
        raise ValidationError({"ends_at": f"一次咨询最长 {limit} 分钟，请缩短结束时间或分次预约。"}, code="too_long")
    return starts_at, ends_at


def check_not_past(starts_at: datetime, now=None) -> None:
    """A booking cannot start at or before the present moment (S-FLOW-1)."""
    if starts_at <= (now or timezone.now()):
        raise ValidationError({"starts_at": "开始时间已经过去，请选择现在以后的时间。"}, code="past")


# --- service hours: the unit's opening hours and the counsellor's duty hours (S-FLOW-1, S-FLOW-2) ---
# Used when neither a unit nor any ancestor has an opening-hours table: Monday–Friday 08:30–17:30.
DEFAULT_OPENING_HOURS: dict[int, list[tuple[time, time]]] = {day: [(time(8, 30), time(17, 30))] for day in range(5)}
# Unit managers (区/街道/社区负责人) hold ORG_MANAGE besides APPOINTMENT_MANAGE; counsellors and workers do not.
OVERRIDE_PERM = Perm.ORG_MANAGE


def opening_hours(unit: OrgUnit) -> tuple[dict[int, list[tuple[time, time]]], OrgUnit | None]:
    """``({weekday: [(opens, closes), …]}, unit the table belongs to)`` for ``unit``: its own table,
    else its nearest ancestor's, else ``DEFAULT_OPENING_HOURS`` (owner None). One query."""
    ids = [*unit.ancestor_ids, unit.pk]
    rows = list(OpeningHours.objects.filter(unit_id__in=ids).select_related("unit").order_by("opens"))
    for owner_id in reversed(ids):
        own = [row for row in rows if row.unit_id == owner_id]
        if own:
            table: dict[int, list[tuple[time, time]]] = {}
            for row in own:
                table.setdefault(row.weekday, []).append((row.opens, row.closes))
            return table, own[0].unit
    return DEFAULT_OPENING_HOURS, None


def describe_hours(intervals, empty: str = "不开放") -> str:
    """``08:30–12:00、13:30–17:30`` or ``empty``, for error messages and pages."""
    return "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in intervals) or empty


def _inside(intervals, starts: datetime, ends: datetime) -> bool:
    """Whether the local span ``[starts, ends)`` lies in one of ``intervals`` on ``starts``'s day."""
    midnight = datetime.combine(starts.date() + timedelta(days=1), time(0), tzinfo=starts.tzinfo)
    if ends > midnight:
        return False
    end_time = time.max if ends == midnight else ends.time()
    return any(a <= starts.time() and end_time <= b for a, b in intervals)


def outside_hours(unit: OrgUnit, counsellor, starts_at: datetime, ends_at: datetime) -> dict[str, str]:
    """Field errors for a time outside the unit's opening hours or the counsellor's duty hours at
    ``unit``; empty when the time is inside both. A counsellor without duty hours there is never on duty."""
    starts, ends = timezone.localtime(starts_at), timezone.localtime(ends_at)
    weekday = starts.weekday()
    label = Weekday(weekday).label
    table, _ = opening_hours(unit)
    if not _inside(table.get(weekday, []), starts, ends):
        return {
            "starts_at": f"该时间不在{unit.name}的开放时间内（{label}：{describe_hours(table.get(weekday, []))}）。"
            "如确需在开放时间以外安排，须由单位负责人勾选“超出服务时间”并填写理由。"
        }
    if counsellor is not None:
        duty = [
            (row.start, row.end)
            for row in Availability.objects.filter(unit=unit, counsellor=counsellor, weekday=weekday).order_by("start")
        ]
        if not _inside(duty, starts, ends):
            name = getattr(counsellor, "full_name", "") or str(counsellor)
            hours = describe_hours(duty, "无值班")
            return {
                "starts_at": f"该时间不在该咨询师（{name}）在本单位的值班时间内（{label}：{hours}）。"
                "如确需在值班时间以外安排，须由单位负责人勾选“超出服务时间”并填写理由。"
            }
    return {}


def check_service_hours(
    *, actor, unit: OrgUnit, counsellor, starts_at, ends_at, override: bool = False, reason: str = ""
) -> tuple[bool, str]:
    """Refuse a time outside opening or duty hours unless a unit manager overrides it with a reason.

    Returns ``(override used, reason)`` to store on the appointment: an override on a time that needs
    none is not recorded. ``actor=None`` (the public, the system) can never override.
    """
    errors = outside_hours(unit, counsellor, starts_at, ends_at)
    if not errors:
        return False, ""
    if not override:
        raise ValidationError(errors, code="outside_hours")
    if actor is None or not can_in_unit(actor, OVERRIDE_PERM, unit):
        raise ValidationError(
            {"hours_override": "只有单位负责人可以批准在开放时间或值班时间以外预约。"}, code="override_forbidden"
        )
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError({"override_reason": "请填写在服务时间以外预约的理由。"}, code="override_reason")
    return True, reason[:200]


def _resource_keys(appointment: Appointment) -> list[str]:
    keys = []
    if appointment.counsellor_id:
        keys.append(f"c:{appointment.counsellor_id}")
    if appointment.room_id:
        keys.append(f"r:{appointment.room_id}")
    return keys


def _hold_slots(appointment: Appointment) -> None:
    """Insert the appointment's counsellor and room hours; a taken hour refuses the whole booking."""
    rows = [
        BookedSlot(resource_key=key, slot_start=hour, appointment=appointment)
        for key in _resource_keys(appointment)
        for hour in slot_hours(appointment.starts_at, appointment.ends_at)
    ]
    if not rows:
        return
    try:
        with transaction.atomic():
            BookedSlot.objects.bulk_create(rows)
    except IntegrityError:
        raise ValidationError(DOUBLE_BOOKED, code="double_booked") from None


def _release_slots(appointment: Appointment) -> None:
    BookedSlot.objects.filter(appointment=appointment).delete()


def _new_reference() -> str:
    with unscoped("uniqueness check of a new random reference"):
        while True:
            code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
            if not Appointment.objects.filter(reference=code).exists():
                return code


# --- contact data ------------------------------------------------------------------------------
def check_contact(data: dict) -> dict:
    """Validate name, phone, needs and basic information; return them clean (basic info as JSON)."""
    name = (data.get("contact_name") or "").strip()
    if not name:
        raise ValidationError({"contact_name": "请填写联系人姓名。"})
    if len(name) > 50:
        raise ValidationError({"contact_name": "姓名不能超过 50 个字符。"})
    phone = (data.get("contact_phone") or "").strip()
    if not phone:
        raise ValidationError({"contact_phone": "请填写联系电话。"})
    try:
        phone = normalize_phone(phone)
    except ValidationError as error:
        raise ValidationError({"contact_phone": error.messages}) from None
    needs = (data.get("needs_symptoms") or "").strip()
    if not needs:
        raise ValidationError({"needs_symptoms": "请填写需求与症状（来访者想解决的问题、目前的困扰）。"})
    if len(needs) > 2000:
        raise ValidationError({"needs_symptoms": "需求与症状不能超过 2000 个字。"})
    gender = data.get("gender") or ""
    if gender not in dict(GENDERS):
        raise ValidationError({"gender": "请选择有效的性别。"})
    age = data.get("age")
    if age not in (None, ""):
        try:
            age = int(age)
        except (TypeError, ValueError):
            raise ValidationError({"age": "年龄须为数字。"}) from None
        if not 0 < age < 120:
            raise ValidationError({"age": "请填写有效的年龄。"})
    else:
        age = None
    basic = {
        "gender": gender,
        "age": age,
        "family": (data.get("family") or "").strip()[:500],
        "address": (data.get("address") or "").strip()[:200],
    }
    return {
        "contact_name": name,
        "contact_phone": phone,
        "needs_symptoms": needs,
        "basic_info": json.dumps(basic, ensure_ascii=False),
    }


# --- who may be booked -------------------------------------------------------------------------
def counsellor_candidates(actor, unit: OrgUnit | None = None):
    """Active users holding a counselling role inside the actor's subtree (and, if given, above or at ``unit``)."""
    from apps.accounts.models import User
    from apps.core.access import active_grant

    grant = active_grant(actor)
    if grant is None:
        return User.objects.none()
    rows = User.objects.filter(
        is_active=True,
        assignments__role__code__in=COUNSELLOR_ROLES,
        assignments__unit__is_active=True,
        assignments__unit__path__startswith=grant.unit_path,
    )
    if unit is not None:
        rows = rows.filter(pk__in=counsellors_over(unit).values("pk"))
    return rows.distinct().order_by("full_name", "id")


def _check_counsellor(actor, counsellor, unit: OrgUnit | None = None) -> None:
    if counsellor is None:
        return
    if not counsellor.is_active:
        raise ValidationError({"counsellor": "该咨询师账号已停用。"})
    if unit is not None and not is_counsellor_over(counsellor, unit):
        raise ValidationError(
            {"counsellor": "所选人员不是该单位或其上级单位的心理咨询师、精神科医生，不能担任负责咨询师。"}
        )
    if actor is not None and not counsellor_candidates(actor).filter(pk=counsellor.pk).exists():
        raise ValidationError({"counsellor": "只能选择本单位及下级单位的咨询师。"})


def _check_room(unit: OrgUnit, room: Room | None, channel: str) -> None:
    if room is None:
        return
    if room.unit_id != unit.pk:
        raise ValidationError({"room": "只能选择本预约所在单位的咨询室。"})
    if not room.active:
        raise ValidationError({"room": "该咨询室已停用。"})
    if channel != Channel.ONSITE:
        raise ValidationError({"room": "电话、网络和短信预约不需要咨询室。"})


def _require_manage(actor, unit: OrgUnit) -> None:
    if actor is not None and not (unit.is_active and can_in_unit(actor, Perm.APPOINTMENT_MANAGE, unit)):
        raise ValidationError("您只能为本单位及下级单位登记预约。", code="forbidden")


def _require_manage_obj(actor, appointment: Appointment) -> None:
    if actor is not None and not can(actor, Perm.APPOINTMENT_MANAGE, appointment):
        raise ValidationError("您无权处理该预约。", code="forbidden")


def _locked(appointment: Appointment) -> Appointment:
    with unscoped("re-read one appointment already authorised by the caller, under a row lock"):
        return Appointment.objects.select_for_update().get(pk=appointment.pk)


# --- staff booking -----------------------------------------------------------------------------
@transaction.atomic
def do_book_appointment(*, actor, unit: OrgUnit, data: dict, now=None) -> Appointment:
    """Staff book an appointment (S-FLOW-1): confirmed at once, holding counsellor and room hours.

    Refused unless the person was told the service content, flow and counsellor, and the
    confidentiality principle and how to change or cancel, and contact and needs are given; unless
    it starts after ``now`` (the moment of booking: only the demo's history passes an earlier one),
    lasts at most ``max_minutes()``, and lies in the unit's opening hours and the counsellor's duty
    hours there, or a unit manager overrides that with a reason (``hours_override``,
    ``override_reason``; stored and audited).
    """
    _require_manage(actor, unit)
    if not data.get("told_service_content_flow_counsellor"):
        raise ValidationError(
            {"told_service_content_flow_counsellor": "请先向来访者说明服务内容、流程和咨询师信息，并勾选此项。"}
        )
    if not data.get("told_confidentiality_and_change_cancel"):
        raise ValidationError(
            {"told_confidentiality_and_change_cancel": "请先向来访者说明保密原则及更改、取消预约的方式，并勾选此项。"}
        )
    channel = data.get("channel") or Channel.ONSITE
    if channel not in Channel.values:
        raise ValidationError({"channel": "请选择有效的预约方式。"})
    clean = check_contact(data)
    starts_at, ends_at = check_times(data.get("starts_at"), data.get("ends_at"))
    check_not_past(starts_at, now)
    counsellor, room, client = data.get("counsellor"), data.get("room"), data.get("client")
    if counsellor is None:
        raise ValidationError({"counsellor": "请选择咨询师。"})
    _check_counsellor(actor, counsellor, unit)
    _check_room(unit, room, channel)
    if client is not None and actor is not None and not can(actor, Perm.CLIENT_VIEW, client):
        raise ValidationError({"client": "只能关联本单位及下级单位的来访者。"})
    override, override_reason = check_service_hours(
        actor=actor,
        unit=unit,
        counsellor=counsellor,
        starts_at=starts_at,
        ends_at=ends_at,
        override=bool(data.get("hours_override")),
        reason=data.get("override_reason") or "",
    )
    appointment = Appointment(
        unit=unit,
        unit_path=unit.path,
        client=client,
        channel=channel,
        counsellor=counsellor,
        room=room,
        starts_at=starts_at,
        ends_at=ends_at,
        told_service_content_flow_counsellor=True,
        told_confidentiality_and_change_cancel=True,
        status=Status.CONFIRMED,
        hours_override=override,
        override_reason=override_reason,
        reference=_new_reference(),
        created_by=actor,
        **clean,
    )
    appointment.save()
    _hold_slots(appointment)
    log_change(actor, appointment, {}, snapshot(appointment), purpose=OVERRIDE_PURPOSE if override else "")
    return appointment


# --- public requests ---------------------------------------------------------------------------
def public_units():
    """Units the public may book at: active community rooms, street stations and district centres with hours."""
    with_hours = Availability.objects.filter(counsellor__is_active=True).values("unit_id")
    return OrgUnit.objects.filter(is_active=True, kind__in=PUBLIC_KINDS, pk__in=with_hours).order_by("path")


def free_slots(unit: OrgUnit, now=None, days: int = PUBLIC_DAYS) -> dict:
    """``{date: [slot start, …]}`` for the next ``days`` days (from tomorrow): hours at which some
    counsellor on duty at ``unit`` is free, minus requests still waiting for a counsellor."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first, last = today + timedelta(days=1), today + timedelta(days=days)
    rows = list(Availability.objects.filter(unit=unit, counsellor__is_active=True))
    if not rows:
        return {}
    table, _ = opening_hours(unit)
    tz = timezone.get_current_timezone()
    candidates: dict[datetime, set[int]] = {}
    day = first
    while day <= last:
        for row in rows:
            if row.weekday != day.weekday():
                continue
            hour = datetime.combine(day, time(row.start.hour), tzinfo=tz)
            if row.start.minute:
                hour += timedelta(hours=1)
            close = datetime.combine(day, row.end, tzinfo=tz)
            while hour + timedelta(minutes=SLOT_MINUTES) <= close:
                if _inside(table.get(day.weekday(), []), hour, hour + timedelta(minutes=SLOT_MINUTES)):
                    candidates.setdefault(hour, set()).add(row.counsellor_id)
                hour += timedelta(hours=1)
        day += timedelta(days=1)
    if not candidates:
        return {}
    start, end = min(candidates), max(candidates) + timedelta(hours=1)
    keys = {f"c:{cid}" for ids in candidates.values() for cid in ids}
    taken = set(
        BookedSlot.objects.filter(resource_key__in=keys, slot_start__gte=start, slot_start__lt=end).values_list(
            "resource_key", "slot_start"
        )
    )
    waiting: dict[datetime, int] = {}
    with unscoped("count unassigned requests per hour; no personal data leaves this function"):
        pending = Appointment.objects.filter(
            unit=unit, status__in=ACTIVE, counsellor__isnull=True, starts_at__lt=end, ends_at__gt=start
        ).values_list("starts_at", "ends_at")
        for starts_at, ends_at in pending:
            for hour in slot_hours(starts_at, ends_at):
                waiting[hour] = waiting.get(hour, 0) + 1
    result: dict = {}
    for hour in sorted(candidates):
        free = sum(1 for cid in candidates[hour] if (f"c:{cid}", hour) not in taken)
        if free - waiting.get(hour, 0) > 0:
            result.setdefault(timezone.localtime(hour).date(), []).append(timezone.localtime(hour))
    return result


def _check_public_limit(phone: str) -> None:
    since = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    with unscoped("per-phone daily limit of the public form; counts only"):
        count = (
            Appointment.objects.search_exact("contact_phone", phone)
            .filter(public_request=True, created_at__gte=since)
            .count()
        )
    if count >= PUBLIC_DAILY_LIMIT:
        raise ValidationError(
            f"同一电话号码每天最多提交 {PUBLIC_DAILY_LIMIT} 次网上预约，请明天再试或致电服务单位。", code="rate_limited"
        )


def _check_public_request(unit: OrgUnit, data: dict, now) -> dict:
    """Everything a public request must satisfy; the clean values to store (no side effects)."""
    if not public_units().filter(pk=unit.pk).exists():
        raise ValidationError("该单位暂不接受网上预约。", code="not_public")
    if not data.get("told_confidentiality_and_change_cancel"):
        raise ValidationError(
            {"told_confidentiality_and_change_cancel": "请阅读保密原则及更改、取消预约的说明，并勾选“我已阅读并同意”。"}
        )
    channel = data.get("channel") or Channel.ONSITE
    if channel not in (Channel.ONSITE, Channel.PHONE, Channel.ONLINE):
        raise ValidationError({"channel": "请选择有效的咨询方式。"})
    clean = check_contact(data)
    starts_at, ends_at = check_times(data.get("starts_at"))
    check_not_past(starts_at, now)
    # The public never overrides: a time outside the opening hours is refused, whoever is on duty.
    check_service_hours(actor=None, unit=unit, counsellor=None, starts_at=starts_at, ends_at=ends_at)
    _check_public_limit(clean["contact_phone"])
    local = timezone.localtime(starts_at)
    if local not in free_slots(unit, now=now).get(local.date(), []):
        raise ValidationError({"starts_at": "该时段已约满或不在服务时间内，请选择其他时段。"})
    return {**clean, "channel": channel, "starts_at": starts_at, "ends_at": ends_at}


@transaction.atomic
def do_request_appointment(*, unit: OrgUnit, data: dict, now=None) -> Appointment:
    """Create the requested appointment that holds its hour until staff confirm it.

    Only ``do_verify_public_booking`` calls this for the public, after the SMS code to the phone
    was entered; no page or API reaches it directly (issue 14 item 4).
    """
    now = now or timezone.now()
    clean = _check_public_request(unit, data, now)
    appointment = Appointment.objects.create(
        unit=unit,
        unit_path=unit.path,
        told_confidentiality_and_change_cancel=True,
        status=Status.REQUESTED,
        reference=_new_reference(),
        public_request=True,
        **clean,
    )
    log_event(actor=None, action=AuditAction.CREATE, obj=appointment, unit=unit, purpose="网上自助预约")
    return appointment


# --- public requests: SMS code, limits, expiry (issue 14 item 4) -------------------------------
CODE_TEMPLATE = "public_booking_code"
CODE_EXPIRED = "验证码已失效，请重新提交预约。"
DAY = 24 * 3600
HOUR = 3600


def _limit(name: str) -> int:
    return int(getattr(settings, name))


def _counter_key(kind: str, value) -> str:
    """A cache key per (kind, value); phones and IPs enter it only as a keyed hash."""
    digest = salted_hmac("appointments.public-limit", f"{kind}:{value}", algorithm="sha256").hexdigest()[:32]
    return f"appointments:public:{kind}:{digest}"


def _count(kind: str, value) -> int:
    return int(cache.get(_counter_key(kind, value)) or 0)


def _bump(kind: str, value, timeout: int) -> int:
    """Add one to a counter in the shared cache (atomic in Redis); the window starts at the first hit."""
    key = _counter_key(kind, value)
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout)
        return 1


def _unbump(kind: str, value) -> None:
    try:
        cache.decr(_counter_key(kind, value))
    except ValueError:
        pass


IP_LIMIT = "同一网络地址 24 小时内最多提交 {n} 次网上预约，请稍后再试或致电服务单位。"
UNIT_LIMIT = "该单位今天的网上预约名额已满，请明天再试或直接致电服务单位预约。"


def _check_booking_room(unit: OrgUnit, ip: str | None) -> None:
    """Refuse before an SMS is spent when this address or this unit already reached its daily limit."""
    if _count("ip", ip or "unknown") >= _limit("PUBLIC_BOOKING_PER_IP"):
        raise ValidationError(IP_LIMIT.format(n=_limit("PUBLIC_BOOKING_PER_IP")), code="rate_limited")
    if _count("unit", unit.pk) >= _limit("PUBLIC_BOOKING_PER_UNIT"):
        raise ValidationError(UNIT_LIMIT, code="rate_limited")


def _take_booking_room(unit: OrgUnit, ip: str | None) -> None:
    """Count one request for this address and this unit; refuse (and count nothing) past a limit."""
    ip = ip or "unknown"
    if _bump("ip", ip, DAY) > _limit("PUBLIC_BOOKING_PER_IP"):
        _unbump("ip", ip)
        raise ValidationError(IP_LIMIT.format(n=_limit("PUBLIC_BOOKING_PER_IP")), code="rate_limited")
    if _bump("unit", unit.pk, DAY) > _limit("PUBLIC_BOOKING_PER_UNIT"):
        _unbump("unit", unit.pk)
        _unbump("ip", ip)
        raise ValidationError(UNIT_LIMIT, code="rate_limited")


def _code_hash(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = salted_hmac("appointments.public-code", f"{salt}:{code}", algorithm="sha256").hexdigest()
    return f"{salt}${digest}"


def _code_matches(check: PublicBookingCheck, code: str) -> bool:
    salt, _, _ = check.code_hash.partition("$")
    code = "".join((code or "").split())
    return bool(code) and constant_time_compare(_code_hash(code, salt), check.code_hash)


def _send_code(phone: str, code: str, minutes: int) -> None:
    from apps.notifications.backends import SmsError, SmsMessage, get_sms_backend
    from apps.notifications.catalog import render

    rendered = render(CODE_TEMPLATE, {"code": code, "minutes": minutes})
    message = SmsMessage(phone=phone, text=rendered.sms, template=CODE_TEMPLATE, params=rendered.sms_params)
    try:
        get_sms_backend().send(message)
    except SmsError:
        raise ValidationError("验证码短信发送失败，请稍后再试或直接致电服务单位预约。", code="sms_failed") from None


def do_start_public_booking(*, unit: OrgUnit, data: dict, ip: str | None, now=None) -> PublicBookingCheck:
    """Step 1 of a public booking: check the request, send a one-time code to its phone.

    Nothing is held yet. An SMS costs money and reaches a stranger's phone, so codes are limited
    per phone and per client address (counted in the shared cache), and a request is refused
    before any SMS when its address or unit has used up the day's public requests. The SMS is sent
    after the row is committed (no database lock is held while the provider answers); when sending
    fails the row is deleted again.
    """
    now = now or timezone.now()
    clean = _check_public_request(unit, data, now)
    _check_booking_room(unit, ip)
    if _bump("sms-ip", ip or "unknown", HOUR) > _limit("PUBLIC_BOOKING_SMS_PER_IP"):
        raise ValidationError("获取验证码过于频繁，请一小时后再试或直接致电服务单位预约。", code="rate_limited")
    if _bump("sms-phone", clean["contact_phone"], HOUR) > _limit("PUBLIC_BOOKING_SMS_PER_PHONE"):
        raise ValidationError("该号码获取验证码次数过多，请一小时后再试。", code="rate_limited")
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = _limit("PUBLIC_BOOKING_CODE_MINUTES")
    payload = {**clean, "starts_at": clean["starts_at"].isoformat(), "ends_at": clean["ends_at"].isoformat()}
    check = PublicBookingCheck.objects.create(
        unit=unit,
        contact_phone=clean["contact_phone"],
        payload=json.dumps(payload, ensure_ascii=False),
        code_hash=_code_hash(code),
        expires_at=now + timedelta(minutes=minutes),
    )
    try:
        _send_code(clean["contact_phone"], code, minutes)
    except ValidationError:
        check.delete()
        raise
    return check


def do_verify_public_booking(*, check_id, code: str, ip: str | None, now=None) -> Appointment:
    """Step 2: the code from the SMS turns the check into a requested appointment holding its hour.

    A wrong code counts an attempt (committed even though the call is refused); the last allowed
    wrong attempt, or an expired code, deletes the check so that only a new SMS can start again.
    """
    now = now or timezone.now()
    error = None
    with transaction.atomic():
        check = PublicBookingCheck.objects.select_for_update().filter(pk=check_id).first() if check_id else None
        if check is None:
            error = ValidationError(CODE_EXPIRED, code="code_expired")
        elif check.expires_at <= now:
            check.delete()
            error = ValidationError(CODE_EXPIRED, code="code_expired")
        elif not _code_matches(check, code):
            check.attempts += 1
            left = _limit("PUBLIC_BOOKING_CODE_ATTEMPTS") - check.attempts
            if left <= 0:
                check.delete()
                error = ValidationError("验证码输错次数过多，已失效，请重新提交预约。", code="code_attempts")
            else:
                check.save(update_fields=["attempts"])
                error = ValidationError({"code": f"验证码不正确，还可以再试 {left} 次。"}, code="code_wrong")
        else:
            unit, payload = check.unit, json.loads(check.payload)
            check.delete()
    if error is not None:
        raise error
    data = {
        **payload,
        "starts_at": datetime.fromisoformat(payload["starts_at"]),
        "told_confidentiality_and_change_cancel": True,
    }
    data.update(json.loads(payload.get("basic_info") or "{}"))
    _take_booking_room(unit, ip)
    try:
        appointment = do_request_appointment(unit=unit, data=data, now=now)
    except ValidationError:
        _unbump("ip", ip or "unknown")
        _unbump("unit", unit.pk)
        raise
    notify_public_booking_received(appointment)
    return appointment


RECEIVED_TEMPLATE = "public_booking_received"


def unit_contact(unit: OrgUnit) -> dict:
    """The unit's name, address and phone as the public sees them (item 10 of issue 13)."""
    return {"unit": unit.name, "address": unit.address or "", "phone": unit.phone or ""}


def notify_public_booking_received(appointment: Appointment) -> bool:
    """Text the person the reference, time, and the unit's address and phone (S-FLOW-1).

    Sent straight to the phone like the code (the person has no account). The booking stands even
    when the SMS fails: the page shows the same, so the failure is only logged.
    """
    import logging

    from apps.notifications.backends import SmsError, SmsMessage, get_sms_backend
    from apps.notifications.catalog import render

    context = {
        "reference": appointment.reference,
        "start": f"{timezone.localtime(appointment.starts_at):%Y-%m-%d %H:%M}",
        **unit_contact(appointment.unit),
    }
    rendered = render(RECEIVED_TEMPLATE, context)
    message = SmsMessage(
        phone=appointment.contact_phone, text=rendered.sms, template=RECEIVED_TEMPLATE, params=rendered.sms_params
    )
    try:
        get_sms_backend().send(message)
    except SmsError:
        logging.getLogger(__name__).warning("public booking SMS failed for appointment %s", appointment.pk)
        return False
    return True


def masked_check_phone(check_id) -> str | None:
    """The phone a pending check sent its code to, masked for the page (``139****5678``), or None."""
    from apps.identity.masks import mask_mobile

    check = PublicBookingCheck.objects.filter(pk=check_id).first() if check_id else None
    return mask_mobile(check.contact_phone) if check else None


def do_expire_public_bookings(now=None) -> tuple[int, int]:
    """Delete expired SMS checks; cancel public requests staff left unconfirmed too long, freeing their hour.

    Returns ``(checks deleted, requests cancelled)``. Run by the periodic task every five minutes.
    """
    now = now or timezone.now()
    checks, _ = PublicBookingCheck.objects.filter(expires_at__lte=now).delete()
    minutes = _limit("PUBLIC_BOOKING_UNCONFIRMED_MINUTES")
    cutoff = now - timedelta(minutes=minutes)
    reason = f"网上预约超过 {minutes // 60} 小时未确认，系统已自动取消并释放时段。"
    cancelled = 0
    with unscoped("expiry of unconfirmed public requests (periodic task)"):
        stale = list(
            Appointment.objects.filter(public_request=True, status=Status.REQUESTED, created_at__lte=cutoff)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        for pk in stale:
            with transaction.atomic():
                appointment = Appointment.objects.select_for_update().filter(pk=pk).first()
                if appointment is None or appointment.status != Status.REQUESTED:
                    continue
                before = snapshot(appointment)
                appointment.status = Status.CANCELLED
                appointment.status_reason = reason
                appointment.save()
                _release_slots(appointment)
                log_change(None, appointment, before, snapshot(appointment), purpose="超时未确认，自动取消")
                cancelled += 1
    return checks, cancelled


# --- changes -----------------------------------------------------------------------------------
def first_free_counsellor(unit: OrgUnit, starts_at, ends_at):
    """A counsellor on duty at ``unit`` for the whole time and not booked then, or None."""
    from apps.accounts.models import User

    local = timezone.localtime(starts_at)
    end_local = timezone.localtime(ends_at)
    ids = Availability.objects.filter(
        unit=unit, weekday=local.weekday(), start__lte=local.time(), end__gte=end_local.time()
    ).values_list("counsellor_id", flat=True)
    hours = slot_hours(starts_at, ends_at)
    for cid in ids:
        if not BookedSlot.objects.filter(resource_key=f"c:{cid}", slot_start__in=hours).exists():
            return User.objects.filter(pk=cid, is_active=True).first()
    return None


@transaction.atomic
def do_confirm_appointment(*, actor, appointment: Appointment, counsellor=None, room=None, told_service=False):
    """Confirm a requested appointment: assign counsellor (and room) if not set, holding their hours."""
    _require_manage_obj(actor, appointment)
    appointment = _locked(appointment)
    if appointment.status != Status.REQUESTED:
        raise ValidationError("只有待确认的预约可以确认。", code="state")
    if not (told_service or appointment.told_service_content_flow_counsellor):
        raise ValidationError({"told_service": "请先向来访者说明服务内容、流程和咨询师信息，并勾选此项后再确认。"})
    before = snapshot(appointment)
    counsellor = counsellor or appointment.counsellor
    if counsellor is None:
        counsellor = first_free_counsellor(appointment.unit, appointment.starts_at, appointment.ends_at)
        if counsellor is None:
            raise ValidationError({"counsellor": "该时段没有空闲的值班咨询师，请指定咨询师或与来访者改约。"})
    else:
        _check_counsellor(actor, counsellor, appointment.unit)
    room = room or appointment.room
    _check_room(appointment.unit, room, appointment.channel)
    _release_slots(appointment)
    appointment.counsellor, appointment.room = counsellor, room
    appointment.told_service_content_flow_counsellor = True
    appointment.status = Status.CONFIRMED
    appointment.save()
    _hold_slots(appointment)
    log_change(actor, appointment, before, snapshot(appointment), purpose="确认预约")
    return appointment


@transaction.atomic
def do_link_client(*, actor, appointment: Appointment, client) -> Appointment:
    """Tie a booking (often a public one, which only knows a name and a phone) to the register's client,
    so reception and the case start from the person's existing record instead of a duplicate."""
    _require_manage_obj(actor, appointment)
    appointment = _locked(appointment)
    if appointment.client_id is not None:
        raise ValidationError("该预约已关联来访者，不能再关联其他人。", code="linked")
    if appointment.status not in ACTIVE:
        raise ValidationError("已取消、已完成或未到的预约不能再关联来访者。", code="state")
    if not can(actor, Perm.CLIENT_MANAGE, client):
        raise ValidationError({"client": "只能关联本单位及下级单位的来访者。"})
    if client.merged_into_id:
        raise ValidationError({"client": "该来访者记录已合并，请关联合并后的记录。"})
    before = snapshot(appointment)
    appointment.client = client
    appointment.save(update_fields=["client"])
    log_change(actor, appointment, before, snapshot(appointment), purpose="预约关联来访者")
    return appointment


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError({"reason": "请填写原因。"})
    return reason[:500]


@transaction.atomic
def do_change_appointment(
    *,
    actor,
    appointment: Appointment,
    starts_at,
    ends_at=None,
    counsellor=None,
    room=None,
    reason: str,
    hours_override: bool = False,
    override_reason: str = "",
) -> Appointment:
    """Move an open appointment to a later time (and/or counsellor, room); the old hours are freed.
    A new start that has already passed is refused (S-FLOW-1), and so is a time outside the unit's
    opening hours or the counsellor's duty hours unless a unit manager overrides it with a reason."""
    _require_manage_obj(actor, appointment)
    reason = _check_reason(reason)
    appointment = _locked(appointment)
    if appointment.status not in ACTIVE:
        raise ValidationError("已取消、已完成或未到的预约不能改约。", code="state")
    starts_at, ends_at = check_times(starts_at, ends_at)
    if starts_at <= timezone.now():
        raise ValidationError({"starts_at": "改约后的开始时间已经过去，请选择现在以后的时间。"}, code="past")
    _check_counsellor(actor, counsellor, appointment.unit)
    counsellor = counsellor or appointment.counsellor
    room = room or appointment.room
    _check_room(appointment.unit, room, appointment.channel)
    override, why = check_service_hours(
        actor=actor,
        unit=appointment.unit,
        counsellor=counsellor,
        starts_at=starts_at,
        ends_at=ends_at,
        override=hours_override,
        reason=override_reason,
    )
    before = snapshot(appointment)
    _release_slots(appointment)
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.counsellor, appointment.room = counsellor, room
    appointment.hours_override, appointment.override_reason = override, why
    if appointment.status != Status.REQUESTED:
        appointment.status = Status.CHANGED
    appointment.status_reason = reason
    appointment.save()
    _hold_slots(appointment)
    purpose = f"改约；{OVERRIDE_PURPOSE}" if override else "改约"
    log_change(actor, appointment, before, snapshot(appointment), purpose=purpose)
    return appointment


@transaction.atomic
def do_cancel_appointment(*, actor, appointment: Appointment, reason: str) -> Appointment:
    """Cancel an open appointment with a reason; its counsellor and room hours become free."""
    _require_manage_obj(actor, appointment)
    reason = _check_reason(reason)
    appointment = _locked(appointment)
    if appointment.status not in ACTIVE:
        raise ValidationError("该预约已取消或已结束，不能再取消。", code="state")
    before = snapshot(appointment)
    _release_slots(appointment)
    appointment.status = Status.CANCELLED
    appointment.status_reason = reason
    appointment.save()
    log_change(actor, appointment, before, snapshot(appointment), purpose="取消预约")
    return appointment


@transaction.atomic
def do_close_appointment(*, actor, appointment: Appointment, status: str, now=None) -> Appointment:
    """Record that a confirmed appointment took place (done) or the person did not come (no_show)."""
    _require_manage_obj(actor, appointment)
    if status not in (Status.DONE, Status.NO_SHOW):
        raise ValidationError("请选择“已完成”或“未到”。", code="status")
    appointment = _locked(appointment)
    if appointment.status not in (Status.CONFIRMED, Status.CHANGED):
        raise ValidationError("只有已确认的预约可以登记完成或未到。", code="state")
    if appointment.starts_at > (now or timezone.now()):
        raise ValidationError("预约时间还没到，不能登记完成或未到。", code="too_early")
    before = snapshot(appointment)
    appointment.status = status
    appointment.save()
    log_change(actor, appointment, before, snapshot(appointment))
    return appointment


# --- rooms and hours ---------------------------------------------------------------------------
@transaction.atomic
def do_save_room(*, actor, unit: OrgUnit, data: dict, room: Room | None = None) -> Room:
    """Create a room in ``unit`` or change one."""
    target_unit = room.unit if room else unit
    _require_manage(actor, target_unit)
    name = (data.get("name") or "").strip()
    if not name or len(name) > 50:
        raise ValidationError({"name": "请填写咨询室名称（不超过 50 个字）。"})
    kind = data.get("kind") or RoomKind.INDIVIDUAL
    if kind not in RoomKind.values:
        raise ValidationError({"kind": "请选择有效的类型。"})
    capacity = data.get("capacity") or 1
    if not 1 <= int(capacity) <= 200:
        raise ValidationError({"capacity": "容纳人数须在 1 到 200 之间。"})
    duplicate = Room.objects.filter(unit=target_unit, name=name)
    if room is not None:
        duplicate = duplicate.exclude(pk=room.pk)
    if duplicate.exists():
        raise ValidationError({"name": "本单位已有同名咨询室。"})
    before = snapshot(room) if room else {}
    room = room or Room(unit=unit, unit_path=unit.path)
    room.name, room.kind, room.capacity = name, kind, int(capacity)
    room.active = bool(data.get("active", True))
    room.save()
    log_change(actor, room, before, snapshot(room))
    return room


@transaction.atomic
def do_add_availability(*, actor, unit: OrgUnit, counsellor, weekday: int, start: time, end: time) -> Availability:
    """Add weekly duty hours of a counsellor at ``unit``; overlapping hours of the same person are refused."""
    _require_manage(actor, unit)
    _check_counsellor(actor, counsellor, unit)
    if counsellor is None:
        raise ValidationError({"counsellor": "请选择咨询师。"})
    if weekday not in Weekday.values:
        raise ValidationError({"weekday": "请选择星期。"})
    if start is None or end is None or end <= start:
        raise ValidationError({"end": "结束时间须晚于开始时间。"})
    overlap = Availability.objects.filter(counsellor=counsellor, weekday=weekday, start__lt=end, end__gt=start)
    if overlap.exists():
        raise ValidationError("该咨询师在这一天的值班时间与已有安排重叠。", code="overlap")
    row = Availability.objects.create(
        unit=unit, unit_path=unit.path, counsellor=counsellor, weekday=weekday, start=start, end=end
    )
    log_change(actor, row, {}, snapshot(row))
    return row


@transaction.atomic
def do_delete_availability(*, actor, row: Availability) -> None:
    if actor is not None and not can(actor, Perm.APPOINTMENT_MANAGE, row):
        raise ValidationError("您无权修改该值班安排。", code="forbidden")
    log_change(actor, row, snapshot(row), {})
    row.delete()


# --- the unit's opening hours and public contact (issue 13 items 1 and 10) ----------------------
def _require_unit_manager(actor, unit: OrgUnit) -> None:
    if actor is not None and not (unit.is_active and can_in_unit(actor, OVERRIDE_PERM, unit)):
        raise ValidationError("只有本单位及上级单位的负责人可以设置开放时间和联系方式。", code="forbidden")


@transaction.atomic
def do_add_opening_hours(*, actor, unit: OrgUnit, weekday: int, opens: time, closes: time) -> OpeningHours:
    """Add one opening interval of ``unit``; the first row replaces the inherited table for that unit,
    so a unit that sets any hours sets all of them. Overlapping intervals of one day are refused."""
    _require_unit_manager(actor, unit)
    if weekday not in Weekday.values:
        raise ValidationError({"weekday": "请选择星期。"})
    if opens is None:
        raise ValidationError({"opens": "请填写开门时间。"})
    if closes is None or closes <= opens:
        raise ValidationError({"closes": "关门时间须晚于开门时间。"})
    if OpeningHours.objects.filter(unit=unit, weekday=weekday, opens__lt=closes, closes__gt=opens).exists():
        raise ValidationError({"opens": "与这一天已有的开放时间重叠。"}, code="overlap")
    row = OpeningHours.objects.create(unit=unit, unit_path=unit.path, weekday=weekday, opens=opens, closes=closes)
    log_change(actor, row, {}, snapshot(row), purpose="设置开放时间")
    return row


@transaction.atomic
def do_delete_opening_hours(*, actor, row: OpeningHours) -> None:
    """Remove one interval; a unit whose last row goes inherits its parent's table again."""
    _require_unit_manager(actor, row.unit)
    log_change(actor, row, snapshot(row), {}, purpose="删除开放时间")
    row.delete()


@transaction.atomic
def do_set_unit_contact(*, actor, unit: OrgUnit, address: str, phone: str) -> OrgUnit:
    """Set the address and phone the public sees on its booking confirmation and SMS."""
    _require_unit_manager(actor, unit)
    address = (address or "").strip()
    phone = " ".join((phone or "").split())
    if len(address) > 200:
        raise ValidationError({"address": "地址不能超过 200 个字。"})
    if phone and not all(ch.isdigit() or ch in "-+ ()转" for ch in phone):
        raise ValidationError({"phone": "联系电话只能包含数字、空格、“-”“+”和括号，如 0571-8888 6666。"})
    if len(phone) > 30:
        raise ValidationError({"phone": "联系电话不能超过 30 个字符。"})
    before = snapshot(unit, fields=("address", "phone"))
    unit.address, unit.phone = address, phone
    unit.save(update_fields=["address", "phone", "updated_at"])
    log_change(actor, unit, before, snapshot(unit, fields=("address", "phone")), purpose="设置单位地址和电话")
    return unit
