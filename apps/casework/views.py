from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.security import recent_auth_required
from apps.audit.services import log_read
from apps.clients.selectors import access_client_by_id
from apps.core.access import can
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.core.scoping import unscoped

from . import selectors, services
from .choices import CaseState
from .forms import (
    ConsentForm,
    CounsellorChangeForm,
    OpenCaseForm,
    OpenFromReceptionForm,
    OverrideForm,
    ReceptionForm,
    SessionForm,
    TransitionForm,
)


def _client_or_error(request, form, field="client"):
    try:
        client, emergency = access_client_by_id(request.user, form.cleaned_data[field], Perm.CLIENT_MANAGE)
    except Http404:
        client, emergency = None, True
    if client is None or emergency:
        form.add_error(field, "没有找到该编号的来访者，或其不在您的管辖范围内。")
        return None
    return client


@requires(Perm.CLIENT_VIEW)
def case_list(request):
    page = keyset_page(selectors.list_cases(request.user, request.GET), request, descending=True)
    context = {
        "page": page,
        "state": selectors.case_list_state(request.GET),
        "states": CaseState.choices,
        "can_manage": can(request.user, Perm.CLIENT_MANAGE),
    }
    return render(request, "casework/case_list.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def case_create(request):
    counsellors = selectors.counsellor_choices(request.user)
    form = OpenCaseForm(request.POST or None, initial={"client": request.GET.get("client")}, counsellors=counsellors)
    if request.method == "POST" and form.is_valid():
        client = _client_or_error(request, form)
        if client is not None:
            case = run_service(
                form,
                lambda: services.do_open_case(
                    actor=request.user,
                    client=client,
                    counsellor=form.cleaned_data["counsellor"],
                    requested_by=form.cleaned_data["requested_by"],
                    reason=form.cleaned_data["reason"],
                    crisis_ground=form.cleaned_data["crisis_ground"],
                ),
            )
            if case:
                messages.success(request, "个案已建立。")
                return redirect("casework:case-detail", pk=case.pk)
    return render(request, "casework/form.html", {"form": form, "title": "建立个案", "back": "casework:case-list"})


@requires(Perm.CLIENT_VIEW)
def case_detail(request, pk):
    """The case: state, counsellor, events, consents and sessions (never their notes)."""
    case = selectors.access_case(request.user, pk)
    manage = can(request.user, Perm.CLIENT_MANAGE, case)
    context = {
        "case": case,
        "events": selectors.case_events(case),
        "consents": selectors.case_consents(request.user, case),
        "sessions": selectors.case_sessions(request.user, case),
        "overrides": selectors.case_overrides(request.user, case),
        "can_manage": manage,
        "can_see_sessions": can(request.user, Perm.NOTE_VIEW, case),
        "can_record_session": case.state == CaseState.ACTIVE and services.may_write_session(request.user, case),
        "can_override": can(request.user, Perm.CONFIDENTIALITY_OVERRIDE, case)
        and can(request.user, Perm.NOTE_VIEW, case),
        "transition_form": TransitionForm(states=services.TRANSITIONS[case.state]) if manage else None,
        "has_transitions": bool(services.TRANSITIONS[case.state]),
        "minor": services.is_minor(case.client),
        "guardian_consented": services.has_consenting_guardian(case.client),
    }
    return render(request, "casework/case_detail.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def case_transition(request, pk):
    case = selectors.access_case(request.user, pk, Perm.CLIENT_MANAGE)
    form = TransitionForm(request.POST or None, states=services.TRANSITIONS[case.state])
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_transition_case(
                actor=request.user,
                case=case,
                to_state=form.cleaned_data["to_state"],
                requested_by=form.cleaned_data["requested_by"],
                reason=form.cleaned_data["reason"],
                crisis_ground=form.cleaned_data["crisis_ground"],
            ),
        )
        if done:
            messages.success(request, f"个案状态已变更为“{case.get_state_display()}”。")
            return redirect("casework:case-detail", pk=case.pk)
    context = {"form": form, "title": f"变更个案 #{case.pk} 状态", "case": case}
    return render(request, "casework/form.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def case_counsellor(request, pk):
    case = selectors.access_case(request.user, pk, Perm.CLIENT_MANAGE)
    form = CounsellorChangeForm(request.POST or None, counsellors=selectors.counsellor_choices(request.user, case.unit))
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_change_counsellor(
                actor=request.user,
                case=case,
                counsellor=form.cleaned_data["counsellor"],
                reason=form.cleaned_data["reason"],
                client_informed=form.cleaned_data["client_informed"],
            ),
        )
        if done:
            messages.success(request, "咨询师已更换并记录。")
            return redirect("casework:case-detail", pk=case.pk)
    title = f"个案 #{case.pk}：{'更换' if case.counsellor_id else '指派'}咨询师"
    return render(request, "casework/form.html", {"form": form, "title": title, "case": case})


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def consent_create(request, pk):
    case = selectors.access_case(request.user, pk, Perm.CLIENT_MANAGE)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_record_consent(
                actor=request.user,
                client=case.client,
                case=case,
                kind=form.cleaned_data["kind"],
                given_by=form.cleaned_data["given_by"],
                notice_version=form.cleaned_data["notice_version"],
                given_at=form.cleaned_data["given_at"],
            ),
        )
        if done:
            messages.success(request, "知情同意已记录。")
            return redirect("casework:case-detail", pk=case.pk)
    return render(
        request, "casework/form.html", {"form": form, "title": f"个案 #{case.pk}：记录知情同意", "case": case}
    )


@requires(Perm.CLIENT_MANAGE)
@require_POST
def consent_withdraw(request, pk):
    from apps.core.access import access_by_id

    from .models import Consent

    consent = access_by_id(Consent.objects.all(), pk, request.user, Perm.CLIENT_MANAGE)
    try:
        services.do_withdraw_consent(actor=request.user, consent=consent)
        messages.success(request, "知情同意已撤回。")
    except services.ValidationError as error:
        messages.error(request, "；".join(error.messages))
    if consent.case_id:
        return redirect("casework:case-detail", pk=consent.case_id)
    return redirect("casework:case-list")


@requires(Perm.CONFIDENTIALITY_OVERRIDE)
@recent_auth_required
@require_http_methods(["GET", "POST"])
def case_override(request, pk):
    """Lift confidentiality (S-PRIN-5): re-authentication, grounds, justification, audit, responders told."""
    case = selectors.access_case(request.user, pk, Perm.CONFIDENTIALITY_OVERRIDE)
    form = OverrideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_override_confidentiality(
                actor=request.user,
                case=case,
                ground=form.cleaned_data["ground"],
                justification=form.cleaned_data["justification"],
            ),
        )
        if done:
            messages.warning(request, "已记录保密例外并通知相关负责人与咨询师；本次操作已记入审计日志。")
            return redirect("casework:case-detail", pk=case.pk)
    context = {"form": form, "title": f"个案 #{case.pk}：突破保密", "case": case, "danger": True}
    return render(request, "casework/form.html", context)


@requires(Perm.NOTE_VIEW)
@require_http_methods(["GET", "POST"])
def session_create(request, pk):
    case = selectors.access_case(request.user, pk, Perm.NOTE_VIEW)
    can_diagnose = can(request.user, Perm.DIAGNOSE, case)
    form = SessionForm(request.POST or None, can_diagnose=can_diagnose)
    if request.method == "POST" and form.is_valid():
        session = run_service(
            form, lambda: services.do_record_session(actor=request.user, case=case, data=form.cleaned_data)
        )
        if session:
            messages.success(request, "咨询记录已保存。")
            return redirect("casework:session-detail", pk=session.pk)
    context = {"form": form, "title": f"个案 #{case.pk}：记录心理咨询", "case": case}
    return render(request, "casework/form.html", context)


@requires(Perm.NOTE_VIEW)
def session_detail(request, pk):
    """One session. The notes show only to the case's counsellor or a note reader; each showing is audited."""
    session = selectors.access_session(request.user, pk)
    show = selectors.read_session_notes(request.user, session, request=request)
    consents = []
    if show:
        with unscoped("the consents of a session whose notes this user was just allowed to read"):
            consents = list(session.consents.all())
    return render(
        request, "casework/session_detail.html", {"session": session, "show_notes": show, "consents": consents}
    )


@requires(Perm.CLIENT_VIEW)
def reception_list(request):
    page = keyset_page(selectors.visible_receptions(request.user), request, descending=True)
    return render(
        request, "casework/reception_list.html", {"page": page, "can_manage": can(request.user, Perm.CLIENT_MANAGE)}
    )


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def reception_create(request):
    form = ReceptionForm(request.POST or None, initial={"client": request.GET.get("client")})
    if request.method == "POST" and form.is_valid():
        client = _client_or_error(request, form)
        if client is not None:
            data = dict(form.cleaned_data)
            data.pop("client")
            reception = run_service(
                form, lambda: services.do_record_reception(actor=request.user, client=client, data=data)
            )
            if reception:
                messages.success(request, "接待登记已保存。")
                return redirect("casework:reception-detail", pk=reception.pk)
    context = {"form": form, "title": "咨询接待登记", "back": "casework:reception-list"}
    return render(request, "casework/form.html", context)


@requires(Perm.CLIENT_MANAGE)
def reception_detail(request, pk):
    reception = selectors.access_reception(request.user, pk)
    log_read(request.user, reception, purpose="查看咨询接待登记", request=request)
    form = None
    if reception.case_id is None:
        form = OpenFromReceptionForm(counsellors=selectors.counsellor_choices(request.user, reception.unit))
    return render(request, "casework/reception_detail.html", {"reception": reception, "open_form": form})


@requires(Perm.CLIENT_MANAGE)
@require_POST
def reception_open_case(request, pk):
    reception = selectors.access_reception(request.user, pk)
    form = OpenFromReceptionForm(request.POST, counsellors=selectors.counsellor_choices(request.user, reception.unit))
    if form.is_valid():
        case = run_service(
            form,
            lambda: services.do_open_case_from_reception(
                actor=request.user,
                reception=reception,
                counsellor=form.cleaned_data["counsellor"],
                requested_by=form.cleaned_data["requested_by"],
            ),
        )
        if case:
            messages.success(request, "已由接待建立个案。")
            return redirect("casework:case-detail", pk=case.pk)
    for error in form.errors.values():
        messages.error(request, "；".join(error))
    return redirect("casework:reception-detail", pk=reception.pk)
