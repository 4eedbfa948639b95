"""Pages of the crisis-expression list and the per-unit crisis handler."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.access import access_by_id, active_grant
from apps.core.forms import run_service
from apps.core.perms import Perm, requires
from apps.orgs.models import OrgUnit

from . import selectors, services
from .forms import ExpressionForm, HandlerForm
from .models import CrisisExpression


@requires(Perm.ALERT_CONFIGURE)
@require_http_methods(["GET", "POST"])
def expression_list(request):
    """The shipped expressions (read-only) and the units' own, with a form to add one."""
    units = list(selectors.configurable_units(request.user)[:500])
    grant = active_grant(request.user)
    form = ExpressionForm(request.POST or None, units=units, initial={"unit": grant.unit_id if grant else None})
    if request.method == "POST" and form.is_valid():
        unit = next((u for u in units if u.pk == form.cleaned_data["unit"]), None)
        if run_service(
            form,
            lambda: services.do_add_expression(actor=request.user, unit=unit, phrase=form.cleaned_data["phrase"]),
        ):
            messages.success(request, "危机表述已加入词表。")
            return redirect("crisis:expression-list")
    context = {
        "form": form,
        "shipped": list(selectors.shipped_expressions()),
        "own": list(selectors.unit_expressions(request.user)),
    }
    return render(request, "crisis/expression_list.html", context)


@requires(Perm.ALERT_CONFIGURE)
@require_POST
def expression_toggle(request, pk):
    expression = access_by_id(
        CrisisExpression.objects.filter(unit__isnull=False), pk, request.user, Perm.ALERT_CONFIGURE
    )
    active = not expression.is_active
    try:
        services.do_set_expression_active(actor=request.user, expression=expression, active=active)
    except services.ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, f"已{'启用' if active else '停用'}“{expression.phrase}”。")
    return redirect("crisis:expression-list")


@requires(Perm.USER_MANAGE)
def handler_list(request):
    """Each unit the user manages, its designated crisis handler, or who is told instead."""
    return render(request, "crisis/handler_list.html", {"rows": selectors.managed_units(request.user)})


@requires(Perm.USER_MANAGE)
@require_http_methods(["GET", "POST"])
def handler_edit(request, pk):
    unit = access_by_id(OrgUnit.objects.filter(is_active=True), pk, request.user, Perm.USER_MANAGE)
    candidates = services.handler_candidates(request.user, unit)
    current = services.designated_handler(unit)
    initial = {"handler": current.handler_id if current and current.unit_id == unit.pk else None}
    form = HandlerForm(request.POST or None, candidates=candidates, initial=initial)
    if request.method == "POST" and form.is_valid():
        chosen = next((u for u in candidates if u.pk == form.cleaned_data["handler"]), None)
        if (
            run_service(form, lambda: services.do_designate_handler(actor=request.user, unit=unit, handler=chosen))
            is not None
        ):
            messages.success(
                request, "危机处置负责人已保存。" if chosen else "已取消指定，危机表述提示将发给单位负责人。"
            )
            return redirect("crisis:handler-list")
    context = {"form": form, "unit": unit, "inherited": current if current and current.unit_id != unit.pk else None}
    return render(request, "crisis/handler_form.html", context)
