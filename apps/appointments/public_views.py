"""The public booking pages under /book/: no login, phone-sized, nobody else's data ever shown."""

from datetime import datetime

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apps.core.forms import run_service
from apps.core.perms import public

from . import services
from .choices import Weekday
from .forms import PublicBookingForm

SESSION_KEY = "appointments_booked"


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
            appointment = run_service(form, lambda: services.do_request_appointment(unit=unit, data=data))
            if appointment:
                request.session[SESSION_KEY] = appointment.pk
                return redirect("appointments-public:done")
    slots = services.free_slots(unit)
    days = [(day, Weekday(day.weekday()).label, hours) for day, hours in slots.items()]
    chosen = request.POST.get("slot", "")
    return render(
        request, "appointments/public/book.html", {"unit": unit, "form": form, "days": days, "chosen": chosen}
    )


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
    return render(request, "appointments/public/done.html", {"a": appointment})
