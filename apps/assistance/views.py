"""Pages of the association's services: help requests, hours, crisis response, and the member's own page."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.audit.services import log_read
from apps.core.access import access_by_id, active_grant, can, scope
from apps.core.forms import report_form, run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.identity.masks import mask_mobile, mask_name
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit

from . import notices, selectors, services
from .choices import HelpStatus, HoursKind, HoursStatus
from .forms import (
    AssignForm,
    CloseForm,
    ConfirmForm,
    DeclineForm,
    DispatchForm,
    DispatchReportForm,
    EditHoursForm,
    EventForm,
    HelpRequestForm,
    HoursForm,
    MemberHoursForm,
    MobiliseFilterForm,
    ReasonForm,
    ResponderEditForm,
    ResponderForm,
    RouteForm,
    SettingsForm,
    ShiftForm,
    VersionForm,
)
from .models import Dispatch, HelpRequest, HotlineShift, HoursRecord, Responder, StressEvent

FORM = "assistance/form.html"


def _now_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


def _units(user, perm):
    return scope(OrgUnit.objects.filter(is_active=True), user, perm).order_by("path")


def _committees(user, perm, within=None):
    rows = scope(OrgUnit.objects.filter(is_active=True, kind=UnitKind.COMMITTEE), user, perm)
    if within is not None:
        rows = rows.filter(path__startswith=within.path)
    return rows.order_by("path")


def _home_unit(user):
    """The unit of the user's active post: the default for "which unit" on create forms."""
    grant = active_grant(user)
    return grant.unit_id if grant else None


def _version(form):
    return form.cleaned_data.get("version")


def _form_page(request, form, title, cancel, intro=""):
    return render(request, FORM, {"form": form, "title": title, "cancel": cancel, "intro": intro})


# --- help requests (H-SVC-1) --------------------------------------------------------------------


def _masked(row):
    return mask_name(row.seeker_name), mask_mobile(row.seeker_phone) if row.seeker_phone else ""


@requires(Perm.ASSISTANCE_VIEW)
def help_list(request):
    status = request.GET.get("status", "").strip()
    page = keyset_page(selectors.help_requests(request.user, status), request, descending=True)
    context = {
        "page": page,
        "rows": [(r, mask_name(r.seeker_name)) for r in page],
        "status": status,
        "statuses": HelpStatus.choices,
        "today": services.today(),
        "can_manage": can(request.user, Perm.HELP_MANAGE),
    }
    return render(request, "assistance/help_list.html", context)


@requires(Perm.ASSISTANCE_VIEW)
def help_overdue(request):
    """H-SVC-1: requests not assigned within the time limit, oldest deadline first."""
    day = services.today()
    rows = list(selectors.overdue_help(request.user, day)[:500])
    context = {"rows": [(r, (day - r.assign_due).days, mask_name(r.seeker_name)) for r in rows], "today": day}
    return render(request, "assistance/help_overdue.html", context)


@requires(Perm.HELP_MANAGE)
@require_http_methods(["GET", "POST"])
def help_create(request):
    form = HelpRequestForm(
        request.POST or None,
        initial={"received_at": _now_minute(), "unit": _home_unit(request.user)},
        units=_units(request.user, Perm.HELP_MANAGE),
    )
    if request.method == "POST" and form.is_valid():
        row = run_service(form, lambda: services.do_register_help_request(actor=request.user, **form.cleaned_data))
        if row:
            where = f"，已分流到{row.committee.name}" if row.committee_id else "，请手工分流到专业委员会"
            messages.success(request, f"个案求助 #{row.pk} 已登记{where}。")
            return redirect("assistance:help-detail", pk=row.pk)
    return _form_page(request, form, "登记个案求助", "assistance:help-list")


def _help(request, pk, perm):
    return access_by_id(
        HelpRequest.objects.select_related("unit", "committee", "assignee", "tenant"), pk, request.user, perm
    )


def _help_page(request, row, *, identity=False, route_form=None, assign_form=None, close_form=None):
    if identity:
        log_read(request.user, row, purpose="查看求助者完整姓名与电话", request=request)
        name, phone = row.seeker_name, row.seeker_phone
    else:
        log_read(request.user, row, purpose="查看个案求助", request=request)
        name, phone = _masked(row)
    manage = can(request.user, Perm.HELP_MANAGE, row)
    committees = _committees(request.user, Perm.HELP_MANAGE, within=row.tenant)
    counsellors = selectors.committee_counsellors(row.committee) if row.committee_id else None
    initial = {"version": row.version}
    context = {
        "row": row,
        "name": name,
        "phone": phone,
        "identity": identity,
        "events": list(row.events.select_related("actor", "assignee", "committee")),
        "can_manage": manage,
        "can_identity": can(request.user, Perm.HELP_IDENTITY, row),
        "route_form": route_form or RouteForm(initial=initial, committees=committees),
        "assign_form": assign_form or (AssignForm(initial=initial, counsellors=counsellors) if counsellors else None),
        "close_form": close_form or CloseForm(initial=initial),
        "today": services.today(),
    }
    return render(request, "assistance/help_detail.html", context)


@requires(Perm.ASSISTANCE_VIEW)
def help_detail(request, pk):
    return _help_page(request, _help(request, pk, Perm.ASSISTANCE_VIEW))


@requires(Perm.HELP_IDENTITY)
def help_identity(request, pk):
    """The help-seeker's full name and phone; every opening is in the audit log."""
    return _help_page(request, _help(request, pk, Perm.HELP_IDENTITY), identity=True)


@requires(Perm.HELP_MANAGE)
@require_POST
def help_route(request, pk):
    row = _help(request, pk, Perm.HELP_MANAGE)
    form = RouteForm(request.POST, committees=_committees(request.user, Perm.HELP_MANAGE, within=row.tenant))
    if form.is_valid() and run_service(
        form,
        lambda: services.do_route_help_request(
            actor=request.user,
            request=row,
            committee=form.cleaned_data["committee"],
            reason=form.cleaned_data["reason"],
            version=_version(form),
        ),  # fmt: skip
    ):
        messages.success(request, "已分流到专业委员会。")
        return redirect("assistance:help-detail", pk=row.pk)
    return _help_page(request, row, route_form=form)


@requires(Perm.HELP_MANAGE)
@require_http_methods(["GET", "POST"])
def help_assign(request, pk):
    row = _help(request, pk, Perm.HELP_MANAGE)
    if not row.committee_id:
        messages.error(request, "请先把求助分流到专业委员会，再分派心理师。")
        return redirect("assistance:help-detail", pk=row.pk)
    counsellors = selectors.committee_counsellors(row.committee)
    form = AssignForm(request.POST or None, initial={"version": row.version}, counsellors=counsellors)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_assign_help_request(
                actor=request.user,
                request=row,
                assignee=form.cleaned_data["assignee"],
                reason=form.cleaned_data["reason"],
                version=_version(form),
            ),  # fmt: skip
        )
        if done:
            messages.success(request, f"已分派给{done.assignee.full_name}，并已通知本人。")
            return redirect("assistance:help-detail", pk=row.pk)
    if request.method == "POST":
        return _help_page(request, row, assign_form=form)
    return _form_page(request, form, f"分派个案求助 #{row.pk}", "assistance:help-list")


@requires(Perm.HELP_MANAGE)
@require_POST
def help_close(request, pk):
    row = _help(request, pk, Perm.HELP_MANAGE)
    form = CloseForm(request.POST)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_close_help_request(
            actor=request.user,
            request=row,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            version=_version(form),
        ),  # fmt: skip
    ):
        messages.success(request, "已结案。")
        return redirect("assistance:help-detail", pk=row.pk)
    return _help_page(request, row, close_form=form)


@requires(Perm.HELP_MANAGE)
@require_http_methods(["GET", "POST"])
def settings_edit(request, pk):
    """The unit's rules: assignment time limit, yearly minimum of hours, specialty → committee."""
    unit = access_by_id(OrgUnit.objects.filter(is_active=True), pk, request.user, Perm.HELP_MANAGE)
    effective = services.settings_for(unit)
    own = effective.row if effective.row and effective.row.unit_id == unit.pk else None
    routes = {r.specialty: r.committee_id for r in unit_routes(unit)}
    initial = {
        "assign_working_days": effective.assign_working_days,
        "education_minimum": effective.education_minimum,
        "version": own.version if own else None,
        **{f"route_{s}": c for s, c in routes.items()},
    }
    committees = _committees(request.user, Perm.HELP_MANAGE, within=unit)
    form = SettingsForm(request.POST or None, initial=initial, committees=committees)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = run_service(
            form,
            lambda: services.do_save_settings(
                actor=request.user,
                unit=unit,
                assign_working_days=data["assign_working_days"],
                education_minimum=data["education_minimum"],
                routes=form.routes(),
                version=_version(form),
            ),  # fmt: skip
        )
        if saved:
            messages.success(request, "设置已保存。")
            return redirect("assistance:settings", pk=unit.pk)
    intro = f"{unit.name}：未设置的项目沿用上级单位的设置或系统默认值（分派时限 2 个工作日，年度最低 24 学时）。"
    return _form_page(request, form, "求助分流与学时设置", "assistance:help-list", intro)


def unit_routes(unit):
    from .models import SpecialtyRoute

    return SpecialtyRoute.objects.filter(unit=unit)


# --- the member's own page: tasks, hours, assigned help requests ---------------------------------


@requires(Perm.ASSISTANCE_SELF)
def my_overview(request):
    context = {
        "tasks": selectors.tasks_for_user(request.user),
        "hours": selectors.hours_for_user(request.user),
        "records": list(
            HoursRecord.objects.filter(member=request.user).select_related("unit").order_by("-date", "-id")[:20]
        ),
        "history": list(
            selectors.my_help(request.user)
            .exclude(status__in=(HelpStatus.ASSIGNED, HelpStatus.ACCEPTED))
            .order_by("-id")[:20]
        ),  # fmt: skip
    }
    return render(request, "assistance/my.html", context)


def _my_help(request, pk):
    return access_by_id_own(request, pk)


def access_by_id_own(request, pk):
    """A help request assigned to the requesting user, else 404 (as for any other missing row)."""
    from django.http import Http404

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    row = selectors.my_help(request.user).filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


def _my_help_page(request, row, decline_form=None, close_form=None):
    accepted = row.status == HelpStatus.ACCEPTED
    if accepted:
        log_read(request.user, row, purpose="接案心理师查看求助者联系方式", request=request)
        name, phone = row.seeker_name, row.seeker_phone
    else:
        log_read(request.user, row, purpose="被分派心理师查看求助", request=request)
        name, phone = _masked(row)
    initial = {"version": row.version}
    context = {
        "row": row,
        "name": name,
        "phone": phone,
        "accepted": accepted,
        "accept_form": VersionForm(initial=initial),
        "decline_form": decline_form or DeclineForm(initial=initial),
        "close_form": close_form or CloseForm(initial=initial),
    }
    return render(request, "assistance/my_help_detail.html", context)


@requires(Perm.ASSISTANCE_SELF)
def my_help_detail(request, pk):
    return _my_help_page(request, _my_help(request, pk))


@requires(Perm.ASSISTANCE_SELF)
@require_POST
def my_help_accept(request, pk):
    row = _my_help(request, pk)
    form = VersionForm(request.POST)
    if form.is_valid() and run_service(
        form, lambda: services.do_accept_help_request(actor=request.user, request=row, version=_version(form))
    ):
        messages.success(request, "已接案，请尽快与求助者联系。")
    else:
        report_form(request, form, "")
    return redirect("assistance:my-help-detail", pk=row.pk)


@requires(Perm.ASSISTANCE_SELF)
@require_POST
def my_help_decline(request, pk):
    row = _my_help(request, pk)
    form = DeclineForm(request.POST)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_decline_help_request(
            actor=request.user, request=row, reason=form.cleaned_data["reason"], version=_version(form)
        ),
    ):
        messages.success(request, "已婉拒，求助已退回专业委员会重新分派。")
        return redirect("assistance:my")
    return _my_help_page(request, row, decline_form=form)


@requires(Perm.ASSISTANCE_SELF)
@require_POST
def my_help_close(request, pk):
    row = _my_help(request, pk)
    form = CloseForm(request.POST)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_close_help_request(
            actor=request.user,
            request=row,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            version=_version(form),
        ),  # fmt: skip
    ):
        messages.success(request, "已结案。")
        return redirect("assistance:my")
    return _my_help_page(request, row, close_form=form)


# --- hours (H-SVC-2, H-SVC-4) -------------------------------------------------------------------


def _year(request) -> int:
    value = request.GET.get("year", "")
    year = int(value) if value.isdigit() else services.today().year
    return year if 2000 <= year <= 2100 else services.today().year


@requires(Perm.ASSISTANCE_VIEW)
def hours_list(request):
    kind, status = request.GET.get("kind", ""), request.GET.get("status", "")
    rows = selectors.hours_records(request.user, kind=kind, status=status)
    context = {
        "page": keyset_page(rows, request, descending=True),
        "kind": kind,
        "status": status,
        "kinds": HoursKind.choices,
        "statuses": HoursStatus.choices,
        "can_manage": can(request.user, Perm.HOURS_MANAGE),
        "confirm_form": ConfirmForm(),
    }
    return render(request, "assistance/hours_list.html", context)


@requires(Perm.HOURS_MANAGE)
@require_http_methods(["GET", "POST"])
def hours_create(request):
    members = selectors.scoped_members(request.user, Perm.HOURS_MANAGE).order_by("full_name", "id")
    form = MemberHoursForm(request.POST or None, initial={"date": services.today()}, members=members)
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_record_hours(actor=request.user, **form.cleaned_data)):
            messages.success(request, "学时已登记。")
            return redirect("assistance:hours-list")
    return _form_page(request, form, "登记会员学时与服务时长", "assistance:hours-list")


@requires(Perm.HOURS_MANAGE)
@require_http_methods(["GET", "POST"])
def hours_edit(request, pk):
    record = access_by_id(HoursRecord.objects.all(), pk, request.user, Perm.HOURS_MANAGE)
    initial = {f: getattr(record, f) for f in ("kind", "activity", "date", "hours", "note", "version")}
    form = EditHoursForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if run_service(form, lambda: services.do_edit_hours(actor=request.user, record=record, **data)):
            messages.success(request, "记录已修改。")
            return redirect("assistance:hours-list")
    return _form_page(request, form, f"修改学时记录 #{record.pk}", "assistance:hours-list")


@requires(Perm.HOURS_MANAGE)
@require_POST
def hours_confirm(request, pk):
    record = access_by_id(HoursRecord.objects.all(), pk, request.user, Perm.HOURS_MANAGE)
    form = ConfirmForm(request.POST)
    done = form.is_valid() and run_service(
        form,
        lambda: services.do_confirm_hours(
            actor=request.user,
            record=record,
            approve=form.cleaned_data["approve"],
            reason=form.cleaned_data["reason"],
            version=_version(form),
        ),  # fmt: skip
    )
    report_form(request, form, "已确认。" if done and record and form.cleaned_data.get("approve") else "已退回。")
    return redirect("assistance:hours-list")


@requires(Perm.ASSISTANCE_SELF)
@require_http_methods(["GET", "POST"])
def hours_report(request):
    form = HoursForm(request.POST or None, initial={"date": services.today()})
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_report_hours(actor=request.user, **form.cleaned_data)):
            messages.success(request, "已申报，秘书处确认后计入学时。")
            return redirect("assistance:my")
    intro = "申报本人参加的培训、督导、个案实践或志愿服务；经秘书处确认后计入年度学时。"
    return _form_page(request, form, "申报学时与服务时长", "assistance:my", intro)


@requires(Perm.ASSISTANCE_VIEW)
def hours_totals(request):
    """H-SVC-2: each member's totals this year; ``?below=1`` lists only those under the minimum."""
    year = _year(request)
    minimum = selectors.education_minimum_for(request.user)
    below = request.GET.get("below") == "1"
    rows = (
        selectors.below_minimum(request.user, year, minimum) if below else selectors.member_totals(request.user, year)
    )
    context = {"page": keyset_page(rows, request), "year": year, "minimum": minimum, "below": below}
    return render(request, "assistance/hours_totals.html", context)


@requires(Perm.ASSISTANCE_VIEW)
def volunteer_ranking(request):
    """H-SVC-4: volunteer hours of the year, most first, for recognition."""
    year = _year(request)
    context = {"rows": selectors.volunteer_ranking(request.user, year), "year": year}
    return render(request, "assistance/volunteer_ranking.html", context)


# --- rapid crisis response (H-SVC-3) ------------------------------------------------------------


@requires(Perm.ASSISTANCE_VIEW)
def responder_list(request):
    context = {
        "page": keyset_page(selectors.visible_responders(request.user), request),
        "can_manage": can(request.user, Perm.CRISIS_MANAGE),
    }
    return render(request, "assistance/responder_list.html", context)


@requires(Perm.CRISIS_MANAGE)
@require_http_methods(["GET", "POST"])
def responder_create(request):
    members = selectors.scoped_members(request.user, Perm.CRISIS_MANAGE).filter(crisis_responder__isnull=True)
    initial = {
        "available_weekdays": list("1234567"), "available_from": "08:00", "available_to": "20:00",
        "unit": _home_unit(request.user),
    }  # fmt: skip
    form = ResponderForm(
        request.POST or None, initial=initial, members=members.order_by("full_name", "id"),
        units=_units(request.user, Perm.CRISIS_MANAGE),
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if run_service(form, lambda: services.do_register_responder(actor=request.user, **data)):
            messages.success(request, "已加入应急援助人员名册。")
            return redirect("assistance:responder-list")
    return _form_page(request, form, "登记应急援助人员", "assistance:responder-list")


@requires(Perm.CRISIS_MANAGE)
@require_http_methods(["GET", "POST"])
def responder_edit(request, pk):
    responder = access_by_id(Responder.objects.select_related("user"), pk, request.user, Perm.CRISIS_MANAGE)
    initial = {
        "trained_on": responder.trained_on,
        "skills": list(responder.skills.values_list("skill", flat=True)),
        "status": responder.status,
        "available_weekdays": list(responder.available_weekdays),
        "available_from": responder.available_from,
        "available_to": responder.available_to,
        "contact": responder.contact,
        "note": responder.note,
        "version": responder.version,
    }
    form = ResponderEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        version = form.cleaned_data.get("version")
        if run_service(
            form,
            lambda: services.do_update_responder(actor=request.user, responder=responder, version=version, **data),
        ):
            messages.success(request, "已更新。")
            return redirect("assistance:responder-list")
    return _form_page(request, form, f"修改援助人员：{responder.user.full_name}", "assistance:responder-list")


@requires(Perm.ASSISTANCE_VIEW)
def event_list(request):
    context = {
        "page": keyset_page(selectors.visible_events(request.user), request, descending=True),
        "can_manage": can(request.user, Perm.CRISIS_MANAGE),
    }
    return render(request, "assistance/event_list.html", context)


@requires(Perm.CRISIS_MANAGE)
@require_http_methods(["GET", "POST"])
def event_create(request):
    form = EventForm(
        request.POST or None,
        initial={"occurred_at": _now_minute(), "unit": _home_unit(request.user)},
        units=_units(request.user, Perm.CRISIS_MANAGE),
    )
    if request.method == "POST" and form.is_valid():
        event = run_service(form, lambda: services.do_register_event(actor=request.user, **form.cleaned_data))
        if event:
            messages.success(request, "事件已登记，请调派援助人员。")
            return redirect("assistance:event-detail", pk=event.pk)
    return _form_page(request, form, "登记心理应激事件", "assistance:event-list")


def _event(request, pk, perm):
    return access_by_id(StressEvent.objects.select_related("unit"), pk, request.user, perm)


@requires(Perm.ASSISTANCE_VIEW)
def event_detail(request, pk):
    event = _event(request, pk, Perm.ASSISTANCE_VIEW)
    context = {
        "event": event,
        "dispatches": selectors.event_dispatch_notices(event),
        "can_manage": can(request.user, Perm.CRISIS_MANAGE, event),
        "close_form": VersionForm(initial={"version": event.version}),
    }
    return render(request, "assistance/event_detail.html", context)


@requires(Perm.CRISIS_MANAGE)
@require_http_methods(["GET", "POST"])
def event_mobilise(request, pk):
    """H-SVC-3: filter the roster for a time window (committee, skill) and dispatch the chosen responders.

    When nobody's own period covers the window (at night), the nearest people are listed and may be
    dispatched with a reason; the message afterwards says what really went out on each channel.
    """
    event = _event(request, pk, Perm.CRISIS_MANAGE)
    committees = _committees(request.user, Perm.CRISIS_MANAGE, within=event.unit)
    start = _now_minute() + dt.timedelta(hours=1)
    source = request.POST if request.method == "POST" else (request.GET if "starts_at" in request.GET else None)
    filters = MobiliseFilterForm(
        source,
        initial={"starts_at": start, "ends_at": start + dt.timedelta(hours=4), "unit": _home_unit(request.user)},
        committees=committees,
    )
    candidates = nearest = dispatch_form = None
    if filters.is_valid():
        data = filters.cleaned_data
        candidates, nearest, offered, outside = selectors.dispatch_choices(
            request.user, event, data["starts_at"], data["ends_at"], committee=data["committee"], skill=data["skill"]
        )
        dispatch_form = DispatchForm(
            request.POST if request.method == "POST" else None, candidates=offered, outside=outside
        )
        if request.method == "POST" and dispatch_form.is_valid():
            chosen = dispatch_form.cleaned_data
            rows = run_service(
                dispatch_form,
                lambda: services.do_dispatch(
                    actor=request.user,
                    event=event,
                    responders=chosen["responders"],
                    role=chosen["role"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    reason=chosen["reason"],
                    skill=data["skill"],
                    urgent=chosen["urgent"],
                ),  # fmt: skip
            )
            if rows:
                messages.success(request, notices.summary(rows))
                return redirect("assistance:event-detail", pk=event.pk)
    context = {
        "event": event, "filters": filters, "dispatch_form": dispatch_form, "candidates": candidates,
        "nearest": nearest,
    }  # fmt: skip
    return render(request, "assistance/mobilise.html", context)


@requires(Perm.CRISIS_MANAGE)
@require_POST
def event_close(request, pk):
    event = _event(request, pk, Perm.CRISIS_MANAGE)
    form = VersionForm(request.POST)
    done = form.is_valid() and run_service(
        form, lambda: services.do_close_event(actor=request.user, event=event, version=_version(form))
    )
    report_form(request, form, "援助已结束。" if done else "")
    return redirect("assistance:event-detail", pk=event.pk)


def _dispatch(request, pk):
    return access_by_id(
        Dispatch.objects.select_related("event", "responder__user"), pk, request.user, Perm.CRISIS_MANAGE
    )


@requires(Perm.CRISIS_MANAGE)
@require_http_methods(["GET", "POST"])
def dispatch_report(request, pk):
    """Record hours and services of a dispatch; the hours count as the responder's volunteer hours."""
    dispatch = _dispatch(request, pk)
    form = DispatchReportForm(request.POST or None, initial={"version": dispatch.version})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if run_service(
            form,
            lambda: services.do_report_dispatch(
                actor=request.user,
                dispatch=dispatch,
                hours=data["hours"],
                people_served=data["people_served"],
                services=form.services(),
                summary=data["summary"],
                version=_version(form),
            ),  # fmt: skip
        ):
            messages.success(request, "服务情况已登记，时长已计入志愿服务时长。")
            return redirect("assistance:event-detail", pk=dispatch.event_id)
    title = f"登记服务情况：{dispatch.responder.user.full_name} · {dispatch.event.title}"
    return _form_page(request, form, title, "assistance:event-list")


@requires(Perm.CRISIS_MANAGE)
@require_POST
def dispatch_cancel(request, pk):
    dispatch = _dispatch(request, pk)
    form = ReasonForm(request.POST)
    done = form.is_valid() and run_service(
        form,
        lambda: services.do_cancel_dispatch(
            actor=request.user, dispatch=dispatch, reason=form.cleaned_data["reason"], version=_version(form)
        ),
    )
    report_form(request, form, "已取消调派。" if done else "")
    return redirect("assistance:event-detail", pk=dispatch.event_id)


@requires(Perm.ASSISTANCE_VIEW)
def rota(request):
    """H-SVC-3: the hotline duty rota of one week; ``?week=YYYY-MM-DD`` picks the week of that day."""
    try:
        day = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        day = services.today()
    monday = selectors.week_start(day)
    context = {
        "days": selectors.rota(request.user, monday),
        "monday": monday,
        "previous": monday - dt.timedelta(days=7),
        "next": monday + dt.timedelta(days=7),
        "today": services.today(),
        "can_manage": can(request.user, Perm.CRISIS_MANAGE),
        "cancel_form": ReasonForm(),
    }
    return render(request, "assistance/rota.html", context)


@requires(Perm.CRISIS_MANAGE)
@require_http_methods(["GET", "POST"])
def shift_create(request):
    responders = selectors.visible_responders(request.user, Perm.CRISIS_MANAGE).order_by("user__full_name", "id")
    start = dt.datetime.combine(services.today() + dt.timedelta(days=1), dt.time(8), tzinfo=services.SHANGHAI)
    initial = {"starts_at": start, "ends_at": start + dt.timedelta(hours=4), "unit": _home_unit(request.user)}
    form = ShiftForm(
        request.POST or None, initial=initial, units=_units(request.user, Perm.CRISIS_MANAGE), responders=responders
    )
    if request.method == "POST" and form.is_valid():
        shift = run_service(form, lambda: services.do_add_shift(actor=request.user, **form.cleaned_data))
        if shift:
            messages.success(request, "已排班。")
            week = services.shanghai_date(shift.starts_at).isoformat()
            return redirect(f"{redirect('assistance:rota').url}?week={week}")
    return _form_page(request, form, "安排热线值班", "assistance:rota", "同一人不能同时值两个时间重叠的班。")


@requires(Perm.CRISIS_MANAGE)
@require_POST
def shift_cancel(request, pk):
    shift = access_by_id(HotlineShift.objects.all(), pk, request.user, Perm.CRISIS_MANAGE)
    form = ReasonForm(request.POST)
    week = services.shanghai_date(shift.starts_at).isoformat()
    done = form.is_valid() and run_service(
        form, lambda: services.do_cancel_shift(actor=request.user, shift=shift, reason=form.cleaned_data["reason"])
    )
    report_form(request, form, "已取消该班次。" if done else "")
    return redirect(f"{redirect('assistance:rota').url}?week={week}")
