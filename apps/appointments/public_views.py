"""The public booking pages under /book/: no login, phone-sized, nobody else's data ever shown."""

from datetime import datetime

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apps.audit.services import client_ip
from apps.core.forms import run_service
from apps.core.perms import public

from . import services
from .choices import Weekday
from .forms import PublicBookingForm, PublicCodeForm

SESSION_KEY = "appointments_booked"
CHECK_KEY = "appointments_check"  # the PublicBookingCheck waiting for this browser's SMS code


@public
def choose_unit(request):
    units = list(services.public_units().select_related("parent"))
    return render(request, "appointments/public/units.html", {"units": units})


def _unit(unit_id):
    unit = services.public_units().filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    return unit


@public
@require_http_methods(["GET", "POST"])
def book(request, unit_id):
    unit = _unit(unit_id)
    form = PublicBookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            starts_at = datetime.fromisoformat(data.pop("slot"))
        except ValueError:
            starts_at = None
        if starts_at is None or timezone.is_naive(starts_at):
            form.add_error(None, "请选择预约时段。")
        else:
            data["starts_at"] = starts_at
            data["told_confidentiality_and_change_cancel"] = data.pop("agree")
            check = run_service(
                form, lambda: services.do_start_public_booking(unit=unit, data=data, ip=client_ip(request))
            )
            if check:
                request.session[CHECK_KEY] = check.pk
                return redirect("appointments-public:verify")
    slots = services.free_slots(unit)
    days = [(day, Weekday(day.weekday()).label, hours) for day, hours in slots.items()]
    chosen = request.POST.get("slot", "")
    return render(
        request, "appointments/public/book.html", {"unit": unit, "form": form, "days": days, "chosen": chosen}
    )


@public
@require_http_methods(["GET", "POST"])
def verify(request):
    """Step 2: the code sent by SMS; only the right code makes the request and holds the hour."""
    check_id = request.session.get(CHECK_KEY)
    phone = services.masked_check_phone(check_id)
    if phone is None:
        request.session.pop(CHECK_KEY, None)
        return redirect("appointments-public:choose-unit")
    form = PublicCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        appointment = run_service(
            form,
            lambda: services.do_verify_public_booking(
                check_id=check_id, code=form.cleaned_data["code"], ip=client_ip(request)
            ),
        )
        if appointment:
            request.session.pop(CHECK_KEY, None)
            request.session[SESSION_KEY] = appointment.pk
            return redirect("appointments-public:done")
        if services.masked_check_phone(check_id) is None:  # expired or too many wrong codes
            request.session.pop(CHECK_KEY, None)
    limits = {"minutes": settings.PUBLIC_BOOKING_CODE_MINUTES, "per_phone": settings.PUBLIC_BOOKING_SMS_PER_PHONE}
    return render(request, "appointments/public/verify.html", {"form": form, "phone": phone, **limits})


@public
def done(request):
    """The reference page: shows only the appointment this browser session just made."""
    from apps.core.scoping import unscoped

    from .models import Appointment

    pk = request.session.get(SESSION_KEY)
    if not pk:
        return redirect("appointments-public:choose-unit")
    with unscoped("the appointment this session created itself"):
        appointment = Appointment.objects.select_related("unit").filter(pk=pk).first()
    if appointment is None:
        return redirect("appointments-public:choose-unit")
    hours = settings.PUBLIC_BOOKING_UNCONFIRMED_MINUTES // 60
    return render(request, "appointments/public/done.html", {"a": appointment, "expire_hours": hours})
