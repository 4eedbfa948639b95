from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.audit.services import log_read
from apps.clients.selectors import access_client_by_id
from apps.core.access import access_by_id, can
from apps.core.forms import run_service
from apps.core.perms import Perm, requires
from apps.identity.masks import mask_mobile

from . import selectors, services
from .choices import ACTIVE, Status, Weekday
from .forms import (
    AppointmentForm,
    AvailabilityForm,
    CancelForm,
    ChangeForm,
    CloseForm,
    ConfirmForm,
    OpeningHoursForm,
    RoomForm,
    UnitContactForm,
    WeekForm,
)
from .models import Appointment, Availability, OpeningHours, Room


def _rows(appointments):
    return [(a, mask_mobile(a.contact_phone) if a.contact_phone else "") for a in appointments]


def _get(request, pk, perm=Perm.CLIENT_VIEW) -> Appointment:
    return access_by_id(Appointment.objects.select_related("unit", "counsellor", "room"), pk, request.user, perm)


@requires(Perm.CLIENT_VIEW)
def today(request):
    """S-FLOW-2: the day's appointments in time order (提前调取当天预约), mine by default, any date."""
    day, mine = selectors.day_filters(request.GET)
    rows = selectors.day_appointments(request.user, day, mine=mine)
    context = {
        "day": day,
        "weekday": Weekday(day.weekday()).label,
        "prev": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "is_today": day == timezone.localdate(),
        "mine": mine,
        "rows": _rows(rows),
        "can_manage": can(request.user, Perm.APPOINTMENT_MANAGE),
    }
    return render(request, "appointments/today.html", context)


@requires(Perm.CLIENT_VIEW)
def appointment_list(request):
    """The manage list in start-time order, filtered by day (today / tomorrow / this week / a date)."""
    filters = selectors.list_filters(request.GET)
    page = selectors.start_time_page(selectors.list_appointments(request.user, request.GET), request.GET)
    context = {
        "page": page,
        "rows": _rows(page),
        "status": filters.status,
        "statuses": Status.choices,
        "date": filters.date,
        "when": filters.when,
        "whens": selectors.WHEN_CHOICES,
        "reference": filters.reference,
        "can_manage": can(request.user, Perm.APPOINTMENT_MANAGE),
    }
    return render(request, "appointments/appointment_list.html", context)


@requires(Perm.CLIENT_VIEW)
def week(request):
    """S-FLOW-2: Monday–Sunday × hours of one counsellor's and one room's week (double booking shows)."""
    rooms = selectors.visible_rooms(request.user).filter(active=True).order_by("unit_path", "name")
    counsellors = services.counsellor_candidates(request.user)
    form = WeekForm(request.GET or None, counsellors=counsellors, rooms=rooms)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    day = data.get("date") or timezone.localdate()
    # Without a choice a counsellor sees their own week; others pick one.
    counsellor = (
        data.get("counsellor") if "counsellor" in request.GET else counsellors.filter(pk=request.user.pk).first()
    )
    room = data.get("room")
    monday = selectors.week_start(day)
    days = [monday + timedelta(days=i) for i in range(7)]
    grids = []
    if counsellor is not None:
        rows = selectors.week_appointments(request.user, monday, counsellor=counsellor)
        grids.append(("counsellor", f"咨询师 {counsellor.full_name or counsellor.username} 的一周", rows))
    if room is not None:
        rows = selectors.week_appointments(request.user, monday, room=room)
        grids.append(("room", f"{room.unit.name} · {room.name} 的一周", rows))
    context = {
        "form": form,
        "days": [(d, Weekday(d.weekday()).label) for d in days],
        "today": timezone.localdate(),
        "grids": [(key, title, selectors.week_grid(rows, monday)) for key, title, rows in grids],
        "prev": monday - timedelta(days=7),
        "next": monday + timedelta(days=7),
        "query": request.GET.copy(),
    }
    return render(request, "appointments/week.html", context)


@requires(Perm.CLIENT_VIEW)
def appointment_detail(request, pk):
    """One appointment; needs and basic information are sensitive, so the opening is audited."""
    appointment = _get(request, pk)
    log_read(request.user, appointment, purpose="查看预约", request=request)
    manage = can(request.user, Perm.APPOINTMENT_MANAGE, appointment)
    context = {
        "a": appointment,
        "basic": appointment.basic,
        "masked_phone": mask_mobile(appointment.contact_phone) if appointment.contact_phone else "",
        "can_manage": manage,
        "can_confirm": manage and appointment.status == Status.REQUESTED,
        "can_change": manage and appointment.status in ACTIVE,
        "can_close": manage
        and appointment.status in (Status.CONFIRMED, Status.CHANGED)
        and appointment.starts_at <= timezone.now(),
        "close_form": CloseForm(),
        "can_reception": can(request.user, Perm.CLIENT_MANAGE, appointment),
    }
    if manage and appointment.status in ACTIVE:
        context["matches"] = selectors.register_matches(request.user, appointment)
    return render(request, "appointments/appointment_detail.html", context)


@requires(Perm.APPOINTMENT_MANAGE)
@require_POST
def appointment_link_client(request, pk):
    """S-FLOW-1, S-FLOW-3: tie a booking to the person already in the register (found by phone or number)."""
    appointment = _get(request, pk, Perm.APPOINTMENT_MANAGE)
    try:
        client, _ = access_client_by_id(request.user, request.POST.get("client"), Perm.CLIENT_MANAGE)
    except Http404:
        messages.error(request, "没有找到该编号的来访者（只能关联本单位及下级单位的来访者）。")
        return redirect("appointments:appointment-detail", pk=appointment.pk)
    try:
        services.do_link_client(actor=request.user, appointment=appointment, client=client)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"已关联来访者 #{client.pk}。")
    return redirect("appointments:appointment-detail", pk=appointment.pk)


def _choices(request, unit=None):
    rooms = selectors.visible_rooms(request.user, Perm.APPOINTMENT_MANAGE).filter(active=True)
    if unit is not None:
        rooms = rooms.filter(unit=unit)
    return {
        "counsellors": services.counsellor_candidates(request.user, unit),  # at the unit or above (issue 13)
        "rooms": rooms,
    }


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def appointment_create(request):
    initial = {}
    if request.GET.get("starts_at"):
        initial["starts_at"] = request.GET["starts_at"]
    form = AppointmentForm(
        request.POST or None, initial=initial, units=selectors.manageable_units(request.user), **_choices(request)
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        unit = data.pop("unit")
        client_id = data.pop("client")
        if client_id:
            try:
                data["client"], _ = access_client_by_id(request.user, client_id)
            except Http404:  # not in scope or missing: the same answer
                form.add_error("client", "没有找到该编号的来访者（只能关联本单位及下级单位的来访者）。")
        if not form.errors:
            appointment = run_service(
                form, lambda: services.do_book_appointment(actor=request.user, unit=unit, data=data)
            )
            if appointment:
                messages.success(request, f"预约已登记，预约号 {appointment.reference}。")
                return redirect("appointments:appointment-detail", pk=appointment.pk)
    return render(request, "appointments/form.html", {"form": form, "title": "登记预约"})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def appointment_confirm(request, pk):
    appointment = _get(request, pk, Perm.APPOINTMENT_MANAGE)
    form = ConfirmForm(
        request.POST or None,
        initial={"counsellor": appointment.counsellor_id, "room": appointment.room_id},
        **_choices(request, appointment.unit),
    )
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_confirm_appointment(
                actor=request.user,
                appointment=appointment,
                counsellor=form.cleaned_data["counsellor"],
                room=form.cleaned_data["room"],
                told_service=form.cleaned_data["told_service"],
            ),
        )
        if done:
            messages.success(request, "预约已确认。")
            return redirect("appointments:appointment-detail", pk=appointment.pk)
    return render(request, "appointments/form.html", {"form": form, "title": "确认预约", "a": appointment})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def appointment_change(request, pk):
    appointment = _get(request, pk, Perm.APPOINTMENT_MANAGE)
    local = timezone.localtime(appointment.starts_at)
    form = ChangeForm(
        request.POST or None,
        initial={"starts_at": local, "counsellor": appointment.counsellor_id, "room": appointment.room_id},
        **_choices(request, appointment.unit),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_service(
            form,
            lambda: services.do_change_appointment(
                actor=request.user,
                appointment=appointment,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                counsellor=data["counsellor"],
                room=data["room"],
                reason=data["reason"],
                hours_override=data["hours_override"],
                override_reason=data["override_reason"],
            ),
        )
        if done:
            messages.success(request, "已改约。")
            return redirect("appointments:appointment-detail", pk=appointment.pk)
    return render(request, "appointments/form.html", {"form": form, "title": "改约", "a": appointment})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def appointment_cancel(request, pk):
    appointment = _get(request, pk, Perm.APPOINTMENT_MANAGE)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_cancel_appointment(
                actor=request.user, appointment=appointment, reason=form.cleaned_data["reason"]
            ),
        )
        if done:
            messages.success(request, "预约已取消，该时段已释放。")
            return redirect("appointments:appointment-detail", pk=appointment.pk)
    return render(request, "appointments/form.html", {"form": form, "title": "取消预约", "a": appointment})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["POST"])
def appointment_close(request, pk):
    appointment = _get(request, pk, Perm.APPOINTMENT_MANAGE)
    form = CloseForm(request.POST)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_close_appointment(
            actor=request.user, appointment=appointment, status=form.cleaned_data["status"]
        ),
    ):
        messages.success(request, "已登记。")
    else:
        for error in form.errors.values():
            messages.error(request, "；".join(error))
    return redirect("appointments:appointment-detail", pk=appointment.pk)


# --- rooms and duty hours ----------------------------------------------------------------------
@requires(Perm.CLIENT_VIEW)
def room_list(request):
    context = {
        "rooms": selectors.visible_rooms(request.user).order_by("unit_path", "name")[:500],
        "hours": selectors.visible_availability(request.user).order_by("unit_path", "weekday", "start")[:500],
        "can_manage": can(request.user, Perm.APPOINTMENT_MANAGE),
        "can_set_hours": can(request.user, Perm.ORG_MANAGE),
    }
    return render(request, "appointments/room_list.html", context)


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def room_create(request):
    form = RoomForm(request.POST or None, units=selectors.manageable_units(request.user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        unit = data.pop("unit")
        if run_service(form, lambda: services.do_save_room(actor=request.user, unit=unit, data=data)):
            messages.success(request, "咨询室已添加。")
            return redirect("appointments:room-list")
    return render(request, "appointments/form.html", {"form": form, "title": "添加咨询室"})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def room_edit(request, pk):
    room = access_by_id(Room.objects.select_related("unit"), pk, request.user, Perm.APPOINTMENT_MANAGE)
    initial = {
        "unit": room.unit_id,
        "name": room.name,
        "kind": room.kind,
        "capacity": room.capacity,
        "active": room.active,
    }
    form = RoomForm(request.POST or None, initial=initial, units=selectors.manageable_units(request.user))
    form.fields["unit"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("unit")
        if run_service(form, lambda: services.do_save_room(actor=request.user, unit=room.unit, data=data, room=room)):
            messages.success(request, "咨询室已保存。")
            return redirect("appointments:room-list")
    return render(request, "appointments/form.html", {"form": form, "title": "修改咨询室"})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["GET", "POST"])
def availability_create(request):
    form = AvailabilityForm(
        request.POST or None,
        units=selectors.manageable_units(request.user),
        counsellors=services.counsellor_candidates(request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if run_service(
            form,
            lambda: services.do_add_availability(
                actor=request.user,
                unit=data["unit"],
                counsellor=data["counsellor"],
                weekday=data["weekday"],
                start=data["start"],
                end=data["end"],
            ),
        ):
            messages.success(request, "值班时间已添加。")
            return redirect("appointments:room-list")
    return render(request, "appointments/form.html", {"form": form, "title": "添加咨询师值班时间"})


@requires(Perm.APPOINTMENT_MANAGE)
@require_http_methods(["POST"])
def availability_delete(request, pk):
    row = access_by_id(Availability.objects.all(), pk, request.user, Perm.APPOINTMENT_MANAGE)
    services.do_delete_availability(actor=request.user, row=row)
    messages.success(request, "值班时间已删除。")
    return redirect("appointments:room-list")


# --- the unit's opening hours and public contact (unit managers) ------------------------------
@requires(Perm.ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def opening_hours(request):
    """The unit manager's page: the unit's weekly opening hours (own or inherited) and its contact."""
    units = selectors.unit_managed_units(request.user)
    wanted = request.POST.get("unit") or request.GET.get("unit") or ""
    unit = (units.filter(pk=int(wanted)) if wanted.isdigit() else units).first()
    if unit is None:
        raise Http404
    action = request.POST.get("action")
    form = OpeningHoursForm(request.POST if action == "add" else None)
    contact = UnitContactForm(
        request.POST if action == "contact" else None, initial={"address": unit.address, "phone": unit.phone}
    )
    if action == "add" and form.is_valid():
        data = form.cleaned_data
        if run_service(
            form,
            lambda: services.do_add_opening_hours(
                actor=request.user, unit=unit, weekday=data["weekday"], opens=data["opens"], closes=data["closes"]
            ),
        ):
            messages.success(request, "开放时间已添加。")
            return redirect(f"{request.path}?unit={unit.pk}")
    if action == "contact" and contact.is_valid():
        data = contact.cleaned_data
        if run_service(
            contact,
            lambda: services.do_set_unit_contact(
                actor=request.user, unit=unit, address=data["address"], phone=data["phone"]
            ),
        ):
            messages.success(request, "地址和电话已保存。")
            return redirect(f"{request.path}?unit={unit.pk}")
    table, owner = services.opening_hours(unit)
    own = list(OpeningHours.objects.filter(unit=unit).order_by("weekday", "opens")) if owner == unit else []
    context = {
        "units": units,
        "unit": unit,
        "owner": owner,
        "own": own,
        "week": [(label, services.describe_hours(table.get(day, []))) for day, label in Weekday.choices],
        "form": form,
        "contact": contact,
    }
    return render(request, "appointments/opening_hours.html", context)


@requires(Perm.ORG_MANAGE)
@require_POST
def opening_hours_delete(request, pk):
    row = access_by_id(OpeningHours.objects.select_related("unit"), pk, request.user, Perm.ORG_MANAGE)
    try:
        services.do_delete_opening_hours(actor=request.user, row=row)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "开放时间已删除。")
    return redirect(f"{reverse('appointments:opening-hours')}?unit={row.unit_id}")
