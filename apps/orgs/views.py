from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.access import access_by_id, active_grant, can
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires

from . import selectors, services
from .choices import UnitKind
from .forms import UnitCreateForm, UnitMoveForm, UnitRenameForm, VersionForm
from .models import OrgUnit


def _unit(request, pk, perm=Perm.ORG_VIEW) -> OrgUnit:
    return access_by_id(OrgUnit.objects.select_related("parent"), pk, request.user, perm)


@requires(Perm.ORG_VIEW)
def unit_home(request):
    """Open the tree at the unit of the active assignment."""
    return redirect("orgs:unit-detail", pk=active_grant(request.user).unit_id)


@requires(Perm.ORG_VIEW)
def unit_detail(request, pk):
    unit = _unit(request, pk)
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "kind", "status")}
    page = keyset_page(selectors.unit_children(request.user, unit, filters), request)
    context = {
        "unit": unit,
        "breadcrumb": selectors.unit_breadcrumb(request.user, unit),
        "page": page,
        "filters": filters,
        "kinds": UnitKind.choices,
        "can_manage": can(request.user, Perm.ORG_MANAGE, unit),
    }
    return render(request, "orgs/unit_detail.html", context)


@requires(Perm.ORG_VIEW)
def unit_children_fragment(request, pk):
    """htmx: the children of one node for the expandable tree."""
    unit = _unit(request, pk)
    children = selectors.unit_children(request.user, unit).order_by("name")[:200]
    return render(request, "orgs/_tree_children.html", {"unit": unit, "children": children})


@requires(Perm.ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def unit_create(request, pk):
    parent = _unit(request, pk, Perm.ORG_MANAGE)
    form = UnitCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        unit = run_service(
            form, lambda: services.do_create_unit(actor=request.user, parent=parent, **form.cleaned_data)
        )
        if unit:
            messages.success(request, f"已新建单位“{unit.name}”。")
            return redirect("orgs:unit-detail", pk=unit.pk)
    return render(request, "orgs/unit_form.html", {"form": form, "unit": parent, "title": "新建下级单位"})


@requires(Perm.ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def unit_rename(request, pk):
    unit = _unit(request, pk, Perm.ORG_MANAGE)
    initial = {"name": unit.name, "code": unit.code, "version": unit.version}
    form = UnitRenameForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_service(
            form,
            lambda: services.do_rename_unit(
                actor=request.user, unit=unit, name=data["name"], code=data["code"], expected_version=data["version"]
            ),
        )
        if done:
            messages.success(request, "单位信息已保存。")
            return redirect("orgs:unit-detail", pk=unit.pk)
    return render(request, "orgs/unit_form.html", {"form": form, "unit": unit, "title": "修改名称与编码"})


@requires(Perm.ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def unit_move(request, pk):
    unit = _unit(request, pk, Perm.ORG_MANAGE)
    form = UnitMoveForm(
        request.POST or None, initial={"version": unit.version}, targets=selectors.move_targets(request.user, unit)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_service(
            form,
            lambda: services.do_move_unit(
                actor=request.user, unit=unit, new_parent=data["new_parent"], expected_version=data["version"]
            ),
        )
        if done:
            messages.success(request, f"已把“{unit.name}”移到“{data['new_parent'].name}”之下。")
            return redirect("orgs:unit-detail", pk=unit.pk)
    return render(request, "orgs/unit_form.html", {"form": form, "unit": unit, "title": "迁移单位"})


@requires(Perm.ORG_MANAGE)
@require_POST
def unit_set_active(request, pk, active: bool):
    unit = _unit(request, pk, Perm.ORG_MANAGE)
    form = VersionForm(request.POST)
    if form.is_valid():
        service = services.do_reactivate_unit if active else services.do_deactivate_unit
        done = run_service(
            form, lambda: service(actor=request.user, unit=unit, expected_version=form.cleaned_data["version"])
        )
        if done:
            messages.success(request, "单位已启用。" if active else "单位已停用。")
            return redirect("orgs:unit-detail", pk=unit.pk)
    for error in form.errors.get("__all__", []) or ["请求无效，请刷新页面后重试。"]:
        messages.error(request, error)
    return redirect("orgs:unit-detail", pk=unit.pk)
