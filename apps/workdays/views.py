from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.access import can
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, login_only, requires

from . import selectors, services
from .forms import DeadlineForm, NoticeForm, OverrideForm


def _render(request, template: str, context: dict, tab: str = ""):
    """Render a calendar page with what its tab bar needs."""
    shared = {"tab": tab, "can_manage": can(request.user, Perm.CALENDAR_MANAGE), "nav_year": timezone.localdate().year}
    return render(request, template, shared | context)


@requires(Perm.CALENDAR_MANAGE)
@require_GET
def override_list(request):
    """The administrators' entries, with the state of each year around today."""
    year = request.GET.get("year", "").strip()
    year = int(year) if year.isdigit() and services.FIRST_YEAR <= int(year) <= services.LAST_YEAR else None
    filters = {"year": year, "kind": request.GET.get("kind", "").strip()}
    page = keyset_page(selectors.override_rows(filters), request)
    page.items.sort(key=lambda o: o.date)  # pages follow entry order (keyset on id); rows read by date
    this_year = timezone.localdate().year
    context = {
        "page": page,
        "filters": filters,
        "years": sorted(set(selectors.override_years()) | {this_year, this_year + 1}, reverse=True),
        "year_statuses": selectors.year_statuses(range(this_year - 1, this_year + 2)),
        "unknown_years": selectors.unknown_years(),
    }
    return _render(request, "workdays/override_list.html", context, "list")


def _override_form(request, override=None):
    initial = {}
    if override is not None:
        initial = {
            "date": override.date,
            "is_workday": "1" if override.is_workday else "0",
            "name": override.name,
            "note": override.note,
        }
    form = OverrideForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if override is None:
            done = run_service(form, lambda: services.do_create_override(actor=request.user, **form.cleaned_data))
        else:
            done = run_service(
                form,
                lambda: services.do_update_override(actor=request.user, override=override, **form.cleaned_data),
            )
        if done:
            messages.success(request, f"已保存：{done}。")
            return redirect(f"{_list_url()}?year={done.date.year}")
    title = "新增节假日调整" if override is None else f"修改节假日调整：{override.date:%Y-%m-%d}"
    return render(request, "workdays/override_form.html", {"form": form, "title": title, "override": override})


def _list_url() -> str:
    return reverse("workdays:override-list")


@requires(Perm.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def override_create(request):
    return _override_form(request)


@requires(Perm.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def override_edit(request, pk):
    return _override_form(request, selectors.access_override_by_id(request.user, pk))


@requires(Perm.CALENDAR_MANAGE)
@require_POST
def override_delete(request, pk):
    override = selectors.access_override_by_id(request.user, pk)
    try:
        services.do_delete_override(actor=request.user, override=override)
        messages.success(request, f"已删除：{override}。该日恢复按法定节假日数据或周一至周五计算。")
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect(f"{_list_url()}?year={override.date.year}")


@requires(Perm.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def override_import(request):
    """Paste a year's holiday notice line by line; all lines are checked before anything is written."""
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = run_service(
            form, lambda: services.do_import_holiday_notice(actor=request.user, text=form.cleaned_data["text"])
        )
        if result:
            text = f"已导入 {len(result.created)} 条"
            if result.unchanged:
                text += f"，{len(result.unchanged)} 条与已有记录相同未重复录入"
            if result.recomputed:
                text += f"；已按新的节假日安排重新计算 {result.recomputed} 条未办结事项的期限"
            messages.success(request, text + "。")
            years = result.years
            return redirect(f"{_list_url()}?year={years[0]}" if len(years) == 1 else _list_url())
    return _render(request, "workdays/override_import.html", {"form": form}, "import")


@login_only
@require_GET
def year_view(request, year):
    """Every day of one year: days off, adjusted working days, and where each came from."""
    if not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        raise Http404
    context = {"calendar": selectors.year_calendar(year), "weekdays": "一二三四五六日", "nav_year": year}
    return _render(request, "workdays/year.html", context, "year")


@login_only
@require_GET
def calculator(request):
    """Any staff member can check a deadline: start date plus N working or calendar days."""
    form = DeadlineForm(request.GET if "start" in request.GET else None, initial=DeadlineForm.defaults())
    deadline = None
    if form.is_bound and form.is_valid():
        deadline = run_service(form, lambda: services.compute_deadline(**form.cleaned_data))
    return _render(request, "workdays/calculator.html", {"form": form, "deadline": deadline}, "calculator")
