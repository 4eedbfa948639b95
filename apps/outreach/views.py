from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import User
from apps.audit.services import log_read
from apps.core.access import access_by_id, active_grant, can, scope
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.identity.masks import mask_mobile, mask_name
from apps.orgs.models import OrgUnit

from . import selectors, services
from .forms import (
    AnswerForm,
    CancelForm,
    DisclosureForm,
    InquiryForm,
    InterventionForm,
    OutcomeForm,
    ReferralForm,
    VisitPlanForm,
    VisitRecordForm,
)
from .models import HomeVisit, Intervention, Referral, RemoteInquiry


def _units(user):
    return scope(OrgUnit.objects.filter(is_active=True), user, Perm.CLIENT_MANAGE).order_by("path")


def _client(user, pk, perm=Perm.CLIENT_VIEW):
    from apps.clients.models import Client

    return access_by_id(Client.objects.select_related("unit"), pk, user, perm)


def _case(user, pk):
    if pk in (None, ""):
        return None
    from apps.casework.models import Case

    return access_by_id(Case.objects.all(), pk, user, Perm.CLIENT_MANAGE)


NO_CLIENT = "没有找到该编号的来访者，或其不在您的管辖范围内。"
NO_CASE = "没有找到该编号的个案，或其不在您的管辖范围内。"


def _lookup(form, field: str, fetch, pk, message: str):
    """A number typed into a form names a record: missing and out-of-scope alike become the same
    form error (the form is kept; nothing tells whether an out-of-scope record exists)."""
    try:
        return fetch(pk), True
    except Http404:
        form.add_error(field, message)
        return None, False


def staff_choices(user, unit_path: str):
    """Active users the actor can see whose assignment covers ``unit_path`` (the visit's unit)."""
    grant = active_grant(user)
    if grant is None:
        return User.objects.none()
    parts = [p for p in unit_path.strip("/").split("/") if p]
    prefixes = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    prefixes = [p for p in prefixes if p.startswith(grant.unit_path)]
    return (
        User.objects.filter(is_active=True, assignments__unit__path__in=prefixes, assignments__unit__is_active=True)
        .distinct()
        .order_by("full_name", "id")
    )


# --- remote inquiries -------------------------------------------------------------------------


@requires(Perm.CLIENT_VIEW)
def inquiry_list(request):
    state = request.GET.get("state", "").strip()
    page = keyset_page(selectors.list_inquiries(request.user, request.GET), request, descending=True)
    context = {
        "page": page,
        "rows": [(i, mask_name(i.contact_name) if i.contact_name else "") for i in page],
        "state": state,
        "today": services.today(),
        "overdue_count": selectors.overdue_inquiries(request.user).count(),
        "can_manage": can(request.user, Perm.CLIENT_MANAGE),
    }
    return render(request, "outreach/inquiry_list.html", context)


@requires(Perm.CLIENT_VIEW)
def inquiry_overdue(request):
    """S-FLOW-4: unanswered inquiries past their three-working-day deadline, oldest deadline first."""
    day = services.today()
    rows = list(selectors.overdue_inquiries(request.user, day)[:500])
    context = {
        "rows": [(i, (day - i.reply_due).days, mask_name(i.contact_name) if i.contact_name else "") for i in rows],
        "today": day,
    }
    return render(request, "outreach/inquiry_overdue.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def inquiry_create(request):
    initial = {"received_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = InquiryForm(request.POST or None, initial=initial, units=_units(request.user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        client_id = data.pop("client_id")
        client, found = None, True
        if client_id:
            fetch = lambda pk: _client(request.user, pk, Perm.CLIENT_MANAGE)  # noqa: E731
            client, found = _lookup(form, "client_id", fetch, client_id, NO_CLIENT)
        inquiry = found and run_service(
            form, lambda: services.do_record_inquiry(actor=request.user, client=client, **data)
        )
        if inquiry:
            messages.success(request, "远程咨询已登记。")
            return redirect("outreach:inquiry-detail", pk=inquiry.pk)
    return render(request, "outreach/form.html", {"form": form, "title": "登记远程咨询"})


def _inquiry_page(request, inquiry, form):
    log_read(request.user, inquiry, purpose="查看远程咨询", request=request)
    context = {
        "inquiry": inquiry,
        "form": form,
        "can_manage": can(request.user, Perm.CLIENT_MANAGE, inquiry),
        "masked_phone": mask_mobile(inquiry.contact_phone) if inquiry.contact_phone else "",
        "overdue": inquiry.answered_at is None and inquiry.reply_due and inquiry.reply_due < services.today(),
    }
    return render(request, "outreach/inquiry_detail.html", context)


@requires(Perm.CLIENT_VIEW)
def inquiry_detail(request, pk):
    inquiry = access_by_id(
        RemoteInquiry.objects.select_related("unit", "answered_by"), pk, request.user, Perm.CLIENT_VIEW
    )
    return _inquiry_page(request, inquiry, AnswerForm())


@requires(Perm.CLIENT_MANAGE)
@require_POST
def inquiry_answer(request, pk):
    inquiry = access_by_id(
        RemoteInquiry.objects.select_related("unit", "answered_by"), pk, request.user, Perm.CLIENT_MANAGE
    )
    form = AnswerForm(request.POST)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_answer_inquiry(actor=request.user, inquiry=inquiry, answer=form.cleaned_data["answer"]),
    ):
        messages.success(request, "回复已登记。")
        return redirect("outreach:inquiry-detail", pk=inquiry.pk)
    return _inquiry_page(request, inquiry, form)


# --- home visits --------------------------------------------------------------------------------


@requires(Perm.CLIENT_VIEW)
def visit_mine(request):
    """My visits: planned ones due within a week, and overdue ones."""
    day = services.today()
    rows = list(selectors.my_visits(request.user, day)[:500])
    context = {"rows": rows, "today": day, "overdue": [v for v in rows if v.planned_for < day]}
    return render(request, "outreach/visit_mine.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def visit_create(request, client_pk):
    client = _client(request.user, client_pk, Perm.CLIENT_MANAGE)
    form = VisitPlanForm(
        request.POST or None,
        initial={"planned_for": services.today()},
        staff=staff_choices(request.user, client.unit_path),
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        case, found = _lookup(form, "case_id", lambda pk: _case(request.user, pk), data.pop("case_id"), NO_CASE)
        visit = found and run_service(
            form, lambda: services.do_plan_visit(actor=request.user, client=client, case=case, **data)
        )
        if visit:
            messages.success(request, "上门关怀已安排。")
            return redirect("outreach:visit-detail", pk=visit.pk)
    title = f"安排上门关怀（来访者 #{client.pk}）"
    return render(request, "outreach/form.html", {"form": form, "title": title, "client": client})


@requires(Perm.CLIENT_VIEW)
def visit_detail(request, pk):
    visit = access_by_id(HomeVisit.objects.select_related("unit", "client"), pk, request.user, Perm.CLIENT_VIEW)
    log_read(request.user, visit, purpose="查看上门关怀记录", request=request)
    context = {
        "visit": visit,
        "staff": list(visit.staff.order_by("full_name")),
        "can_manage": can(request.user, Perm.CLIENT_MANAGE, visit),
        "today": services.today(),
    }
    return render(request, "outreach/visit_detail.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def visit_record(request, pk):
    """Record a visit: at least two staff and a family member or guardian (S-FLOW-6)."""
    visit = access_by_id(HomeVisit.objects.select_related("unit", "client"), pk, request.user, Perm.CLIENT_MANAGE)
    initial = {"visited_at": timezone.localtime().replace(second=0, microsecond=0), "staff": list(visit.staff.all())}
    form = VisitRecordForm(request.POST or None, initial=initial, staff=staff_choices(request.user, visit.unit_path))
    if request.method == "POST" and form.is_valid():
        done = run_service(form, lambda: services.do_record_visit(actor=request.user, visit=visit, **form.cleaned_data))
        if done:
            messages.success(
                request, "上门关怀记录已保存。" + ("已自动安排下一次上门。" if visit.next_visit_id else "")
            )
            return redirect("outreach:visit-detail", pk=visit.pk)
    title = f"登记上门关怀 #{visit.pk}"
    return render(request, "outreach/form.html", {"form": form, "title": title, "visit": visit})


@requires(Perm.CLIENT_MANAGE)
@require_POST
def visit_cancel(request, pk):
    visit = access_by_id(HomeVisit.objects.all(), pk, request.user, Perm.CLIENT_MANAGE)
    form = CancelForm(request.POST)
    if form.is_valid() and run_service(
        form, lambda: services.do_cancel_visit(actor=request.user, visit=visit, reason=form.cleaned_data["reason"])
    ):
        messages.success(request, "已取消这次上门关怀。")
    else:
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors) or "请填写取消原因。")
    return redirect("outreach:visit-detail", pk=visit.pk)


# --- client overview: visits, interventions, referrals, disclosures -----------------------------


@requires(Perm.CLIENT_VIEW)
def client_overview(request, client_pk):
    client = _client(request.user, client_pk)
    log_read(request.user, client, purpose="查看来访者上门关怀、干预、转介与信息提供记录", request=request)
    context = {
        "client": client,
        "can_manage": can(request.user, Perm.CLIENT_MANAGE, client),
        **selectors.client_outreach(request.user, client),
    }
    return render(request, "outreach/client_overview.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def intervention_create(request, client_pk):
    client = _client(request.user, client_pk, Perm.CLIENT_MANAGE)
    initial = {"happened_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = InterventionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        case, found = _lookup(form, "case_id", lambda pk: _case(request.user, pk), data.pop("case_id"), NO_CASE)
        row = found and run_service(
            form, lambda: services.do_record_intervention(actor=request.user, client=client, case=case, **data)
        )
        if row:
            messages.success(request, "心理干预已记录。")
            return redirect("outreach:client-overview", client_pk=client.pk)
    title = f"记录心理干预（来访者 #{client.pk}）"
    return render(request, "outreach/form.html", {"form": form, "title": title, "client": client})


@requires(Perm.CLIENT_VIEW)
def intervention_detail(request, pk):
    row = access_by_id(Intervention.objects.select_related("unit", "recorded_by"), pk, request.user, Perm.CLIENT_VIEW)
    log_read(request.user, row, purpose="查看心理干预记录", request=request)
    return render(request, "outreach/intervention_detail.html", {"row": row})


@requires(Perm.CLIENT_VIEW)
def referral_list(request):
    page = keyset_page(selectors.visible_referrals(request.user), request, descending=True)
    return render(request, "outreach/referral_list.html", {"page": page})


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def referral_create(request, client_pk):
    client = _client(request.user, client_pk, Perm.CLIENT_MANAGE)
    form = ReferralForm(request.POST or None, initial={"referred_on": services.today()})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        case, found = _lookup(form, "case_id", lambda pk: _case(request.user, pk), data.pop("case_id"), NO_CASE)
        referral = found and run_service(
            form, lambda: services.do_refer(actor=request.user, client=client, case=case, **data)
        )
        if referral:
            messages.success(request, "转介已登记，并已记入信息提供登记。")
            return redirect("outreach:referral-detail", pk=referral.pk)
    title = f"登记转介（来访者 #{client.pk}）"
    return render(request, "outreach/form.html", {"form": form, "title": title, "client": client})


def _referral_page(request, referral, form):
    log_read(request.user, referral, purpose="查看转介记录", request=request)
    context = {
        "referral": referral,
        "form": form,
        "can_manage": can(request.user, Perm.CLIENT_MANAGE, referral),
        "disclosures": list(selectors.visible_disclosures(request.user).filter(referral=referral)),
    }
    return render(request, "outreach/referral_detail.html", context)


@requires(Perm.CLIENT_VIEW)
def referral_detail(request, pk):
    referral = access_by_id(Referral.objects.select_related("unit", "client"), pk, request.user, Perm.CLIENT_VIEW)
    return _referral_page(request, referral, OutcomeForm())


@requires(Perm.CLIENT_MANAGE)
@require_POST
def referral_outcome(request, pk):
    referral = access_by_id(Referral.objects.select_related("unit", "client"), pk, request.user, Perm.CLIENT_MANAGE)
    form = OutcomeForm(request.POST)
    if form.is_valid() and run_service(
        form, lambda: services.do_record_referral_outcome(actor=request.user, referral=referral, **form.cleaned_data)
    ):
        messages.success(request, "转介结果已登记。")
        return redirect("outreach:referral-detail", pk=referral.pk)
    return _referral_page(request, referral, form)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def disclosure_create(request, client_pk):
    client = _client(request.user, client_pk, Perm.CLIENT_MANAGE)
    initial = {"disclosed_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = DisclosureForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        row = run_service(
            form, lambda: services.do_record_disclosure(actor=request.user, client=client, **form.cleaned_data)
        )
        if row:
            messages.success(request, "信息提供已登记。")
            return redirect("outreach:client-overview", client_pk=client.pk)
    title = f"登记信息提供（来访者 #{client.pk}）"
    return render(request, "outreach/form.html", {"form": form, "title": title, "client": client})
