from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts.security import recent_auth_required
from apps.audit.choices import AuditAction
from apps.audit.services import log_event, log_read
from apps.core.access import can, scope
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.identity.masks import mask_id, mask_mobile
from apps.orgs.models import OrgUnit

from . import selectors, services
from .forms import ClientForm, EmergencyForm
from .models import ServiceTargetCategory


def _units(user):
    return scope(OrgUnit.objects.filter(is_active=True), user, Perm.CLIENT_MANAGE).order_by("path")


@requires(Perm.CLIENT_VIEW)
def client_list(request):
    q = request.GET.get("q", "").strip()
    category = request.GET.get("category", "").strip()
    page = keyset_page(selectors.search_clients(request.user, q, category), request)
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
    context = {
        "client": client,
        "emergency": emergency,
        "masked_id": mask_id(client.id_number) if client.id_number else "",
        "masked_phone": mask_mobile(client.phone) if client.phone else "",
        "categories": list(client.categories.all()),
        "can_manage": emergency is None and can(request.user, Perm.CLIENT_MANAGE, client),
        "can_unmask": emergency is None and can(request.user, Perm.CLIENT_UNMASK, client),
    }
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
    return render(request, "clients/client_unmask.html", {"client": client})


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def client_create(request):
    form = ClientForm(request.POST or None, units=_units(request.user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        unit, categories = data.pop("unit"), data.pop("categories")
        data.pop("version", None)
        client = run_service(
            form,
            lambda: services.do_register_client(actor=request.user, unit=unit, data=data, categories=categories),
        )
        if client:
            messages.success(request, "来访者已登记。")
            return redirect("clients:client-detail", pk=client.pk)
    return render(request, "clients/client_form.html", {"form": form, "title": "登记来访者"})


@requires(Perm.CLIENT_MANAGE)
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
    initial = {field: getattr(client, field) for field in services.FIELDS}
    initial.update(unit=client.unit_id, version=client.version, categories=list(client.categories.all()))
    form = ClientForm(request.POST or None, initial=initial, units=_units(request.user))
    form.fields["unit"].disabled = True  # moving a client is a transfer with a handover record
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
