from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.security import recent_auth_required
from apps.audit.choices import AuditAction
from apps.audit.services import log_event, log_read
from apps.core.access import can, scope
from apps.core.forms import report_form, run_service
from apps.core.perms import Perm, requires
from apps.identity.masks import mask_id, mask_mobile
from apps.identity.phones import format_phone
from apps.orgs.models import OrgUnit

from . import selectors, services
from .forms import ClientForm, EmergencyForm, GuardianChangeForm, GuardianEndForm, GuardianForm, MergeForm, TransferForm
from .models import ServiceTargetCategory
from .pdf import registration_form_pdf


def _units(user):
    return scope(OrgUnit.objects.filter(is_active=True), user, Perm.CLIENT_MANAGE).order_by("path")


@requires(Perm.CLIENT_VIEW)
def client_list(request):
    q = request.GET.get("q", "").strip()
    category = request.GET.get("category", "").strip()
    page = selectors.client_page(request.user, request, q, category)
    rows = [(c, mask_mobile(c.phone) if c.phone else "") for c in page]
    context = {
        "page": page,
        "rows": rows,
        "q": q,
        "category": category,
        "categories": ServiceTargetCategory.objects.filter(is_active=True),
        "can_manage": can(request.user, Perm.CLIENT_MANAGE),
        "can_emergency": can(request.user, Perm.EMERGENCY_ACCESS),
    }
    return render(request, "clients/client_list.html", context)


@requires(Perm.CLIENT_VIEW)
def client_detail(request, pk):
    """One client's record. Every opening is audited; identifiers are shown masked."""
    client, emergency = selectors.access_client_by_id(request.user, pk)
    log_read(request.user, client, purpose="紧急调阅" if emergency else "查看来访者档案", request=request)
    live = emergency is None and client.merged_into_id is None
    context = {
        "client": client,
        "emergency": emergency,
        "masked_id": mask_id(client.id_number) if client.id_number else "",
        "masked_phone": mask_mobile(client.phone) if client.phone else "",
        "categories": list(client.categories.all()),
        # a merged record is history only: no editing, no unmasking (the kept record has the data)
        "can_manage": live and can(request.user, Perm.CLIENT_MANAGE, client),
        "can_unmask": live and can(request.user, Perm.CLIENT_UNMASK, client),
        "guardians": selectors.client_guardians(client),
        "transfers": list(client.transfers.select_related("from_unit", "to_unit", "handed_over_by")),
        "age": services.age_on(client.birth_date),
    }
    if emergency is None:
        context["can_assess"] = can(request.user, Perm.ASSESSMENT_VIEW, client)
        context["can_tag"] = can(request.user, Perm.ALERT_TAG, client)
        if can(request.user, Perm.ALERT_VIEW, client):
            from apps.alerts.selectors import active_warnings

            context["warning"] = active_warnings(request.user).filter(client=client).first()
    if context["can_manage"]:
        context["transfer_form"] = TransferForm()
        context["merge_form"] = MergeForm()
    return render(request, "clients/client_detail.html", context)


@requires(Perm.CLIENT_UNMASK)
@recent_auth_required
@require_http_methods(["GET", "POST"])
def client_unmask(request, pk):
    """Show the full ID number and phone after re-authentication; the unmasking is audited."""
    client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_UNMASK)
    log_event(
        actor=request.user, action=AuditAction.UNMASK, obj=client, request=request, purpose="查看完整身份证号与电话"
    )
    return render(request, "clients/client_unmask.html", {"client": client, "full_phone": format_phone(client.phone)})


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def client_create(request):
    """Register a client: duplicates are shown first; a child under 14 needs a consenting guardian."""
    form = ClientForm(request.POST or None, units=_units(request.user))
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        unit, categories = data.pop("unit"), data.pop("categories")
        guardian = {
            "name": data.pop("guardian_name"),
            "relationship": data.pop("guardian_relationship"),
            "phone": data.pop("guardian_phone"),
            "consent": data.pop("guardian_consent"),
        }
        confirm_new = data.pop("confirm_new")
        data.pop("version", None)
        try:
            duplicates = services.find_duplicates(request.user, services.check_client_data(data))
        except ValidationError as error:
            form.add_error(None, error)
        # The same ID number is the same person: no "仍然登记" for it; the service refuses and says where it is.
        same_id = any(label == services.ID_MATCH_LABEL for _c, label, _s in duplicates)
        if form.is_valid() and (not duplicates or confirm_new or same_id):
            client = run_service(
                form,
                lambda: services.do_register_minor_aware(
                    actor=request.user, unit=unit, data=data, categories=categories, guardian=guardian
                ),
            )
            if client:
                messages.success(request, "来访者已登记。")
                return redirect("clients:client-detail", pk=client.pk)
    same_id = any(label == services.ID_MATCH_LABEL for _c, label, _s in duplicates)
    if same_id:
        form.fields.pop("confirm_new", None)
    context = {"form": form, "title": "登记来访者", "duplicates": duplicates, "same_id": same_id}
    return render(request, "clients/client_form.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
    initial = {field: getattr(client, field) for field in services.FIELDS}
    initial.update(unit=client.unit_id, version=client.version, categories=list(client.categories.all()))
    form = ClientForm(request.POST or None, initial=initial, units=_units(request.user))
    form.fields["unit"].disabled = True  # moving a client is a transfer with a handover record
    for name in (*ClientForm.GUARDIAN_FIELDS, "confirm_new"):
        del form.fields[name]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("unit")
        categories, version = data.pop("categories"), data.pop("version")
        done = run_service(
            form,
            lambda: services.do_update_client(
                actor=request.user, client=client, data=data, categories=categories, expected_version=version
            ),
        )
        if done:
            messages.success(request, "来访者信息已保存。")
            return redirect("clients:client-detail", pk=client.pk)
    return render(request, "clients/client_form.html", {"form": form, "title": "修改来访者信息"})


@requires(Perm.EMERGENCY_ACCESS)
@recent_auth_required
@require_http_methods(["GET", "POST"])
def emergency(request):
    """Break the glass: find one client by exact identifier anywhere in the tree and open it for two hours."""
    form = EmergencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = selectors.find_for_emergency(request.user, form.cleaned_data["identifier"])
        if client is None:
            # A miss reveals that the number is not a client: audited too (issue 14 item 9).
            missed = run_service(
                form,
                lambda: services.do_record_break_glass_miss(
                    actor=request.user,
                    identifier=form.cleaned_data["identifier"],
                    reason=form.cleaned_data["reason"],
                    reason_text=form.cleaned_data["reason_text"],
                ),
            )
            if missed:
                form.add_error("identifier", "没有找到与该身份证号码或手机号码对应的来访者。")
        else:
            done = run_service(
                form,
                lambda: services.do_break_glass(
                    actor=request.user,
                    client=client,
                    reason=form.cleaned_data["reason"],
                    reason_text=form.cleaned_data["reason_text"],
                ),
            )
            if done:
                messages.warning(
                    request,
                    "已开启紧急调阅，2 小时内有效；本次调阅及每次查看均记入审计日志，并已通知该来访者所在单位负责人。",
                )
                return redirect("clients:client-detail", pk=client.pk)
    return render(request, "clients/emergency.html", {"form": form})


@requires(Perm.CLIENT_MANAGE)
@require_POST
def client_transfer(request, pk):
    """Hand the client over to another unit; this unit loses access at once."""
    client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
    form = TransferForm(request.POST)
    if form.is_valid():
        to_unit = selectors.unit_by_code(form.cleaned_data["to_unit_code"])
        done = to_unit is not None and run_service(
            form,
            lambda: services.do_transfer_client(
                actor=request.user,
                client=client,
                to_unit=to_unit,
                reason=form.cleaned_data["reason"],
                handover_notes=form.cleaned_data["handover_notes"],
            ),
        )
        if to_unit is None:
            form.add_error("to_unit_code", "没有找到该编码的单位，请核对。")
        elif done:
            if can(request.user, Perm.CLIENT_VIEW, client):
                messages.success(request, f"已移交到“{to_unit.name}”，该单位在您的管辖范围内，您仍可查看该来访者。")
                return redirect("clients:client-detail", pk=client.pk)
            messages.success(request, f"已移交到“{to_unit.name}”，本单位不再能查看该来访者。")
            return redirect("clients:client-list")
    report_form(request, form, "")
    return redirect("clients:client-detail", pk=client.pk)


@requires(Perm.CLIENT_MANAGE)
@require_POST
def client_merge(request, pk):
    """Fold a duplicate record (also in scope) into this one, keeping every record and its history."""
    keep, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            duplicate, _ = selectors.access_client_by_id(
                request.user, form.cleaned_data["duplicate"], Perm.CLIENT_MANAGE
            )
        except Http404:
            form.add_error("duplicate", "在您的管辖范围内没有这个来访者编号。")
        else:
            run_service(
                form,
                lambda: services.do_merge_clients(
                    actor=request.user, keep=keep, duplicate=duplicate, reason=form.cleaned_data["reason"]
                ),
            )
    report_form(request, form, "已合并，重复记录的全部服务记录已归入本档案。")
    return redirect("clients:client-detail", pk=keep.pk)


def _latest_reception(user, client) -> dict | None:
    """The per-visit half of the form (Appendix C) from the client's latest reception the user may see."""
    from apps.casework.models import Reception

    reception = (
        scope(Reception.objects.filter(client=client), user, Perm.CLIENT_VIEW)
        .select_related("receptionist")
        .order_by("-received_at")
        .first()
    )
    if reception is None:
        return None
    return {
        "reason": reception.reason,
        "history": reception.history,
        "analysis": reception.preliminary_analysis,
        "effect": reception.counselling_effect,
        "next_step": reception.next_step_plan,
        "receptionist": reception.receptionist.full_name if reception.receptionist else "",
        "received_at": reception.received_at,
    }


@requires(Perm.CLIENT_UNMASK)
@recent_auth_required
def registration_form(request, pk):
    """Print the client registration form (Appendix C) as a PDF; it shows full identifiers, so it is an
    unmasking act: its own permission, re-authentication, audited."""
    client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_UNMASK)
    log_event(
        actor=request.user, action=AuditAction.EXPORT, obj=client, request=request, purpose="打印来访者情况登记表"
    )
    content = registration_form_pdf(client, printed_by=request.user, reception=_latest_reception(request.user, client))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="registration-{client.pk}.pdf"'
    return response


def _guardian_page(request, form, client, title, submit, guardian=None, ending=False):
    context = {"form": form, "client": client, "title": title, "submit": submit, "guardian": guardian, "ending": ending}
    return render(request, "clients/guardian_form.html", context)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def guardian_add(request, pk):
    """Record a guardian and their consent on the client's page, at any time (S-CLIENT-4)."""
    client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
    form = GuardianForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form, lambda: services.do_add_guardian(actor=request.user, client=client, data=form.cleaned_data)
        )
        if done:
            messages.success(request, "监护人及其同意已登记。")
            return redirect("clients:client-detail", pk=client.pk)
    return _guardian_page(request, form, client, "登记监护人", "登记")


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def guardian_edit(request, pk):
    guardian = selectors.access_guardian(request.user, pk)
    initial = {"name": guardian.name, "relationship": guardian.relationship, "phone": format_phone(guardian.phone)}
    form = GuardianChangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form, lambda: services.do_change_guardian(actor=request.user, guardian=guardian, data=form.cleaned_data)
        )
        if done:
            messages.success(request, "监护人信息已修改。")
            return redirect("clients:client-detail", pk=guardian.client_id)
    return _guardian_page(request, form, guardian.client, "修改监护人信息", "保存", guardian)


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def guardian_end(request, pk):
    guardian = selectors.access_guardian(request.user, pk)
    form = GuardianEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: services.do_end_guardian(actor=request.user, guardian=guardian, reason=form.cleaned_data["reason"]),
        )
        if done:
            messages.success(request, "已终止该监护人，记录保留在来访者档案中。")
            return redirect("clients:client-detail", pk=guardian.client_id)
    return _guardian_page(request, form, guardian.client, "终止监护人", "确认终止", guardian, ending=True)
