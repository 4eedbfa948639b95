from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires

from . import exports, selectors, services
from .forms import AuditFilterForm, ExportForm
from .verification import run_verification


def _filters(request) -> tuple[AuditFilterForm, dict | None]:
    """The filter form from the query string, and its cleaned data (None when invalid)."""
    params = request.GET.copy()
    params.pop("after", None)
    params.pop("before", None)
    form = AuditFilterForm(params)
    return form, (form.cleaned_data if form.is_valid() else None)


@requires(Perm.AUDIT_VIEW)
def entry_list(request):
    """Search the audit log, newest first. Viewing is not itself logged; exporting is."""
    form, filters = _filters(request)
    rows = (
        selectors.search_entries(request.user, filters)
        if filters is not None
        else selectors.visible_entries(request.user).none()
    )
    page = keyset_page(rows, request, descending=True)
    context = {"form": form, "page": page, "export_form": ExportForm(), "querystring": page.querystring}
    return render(request, "audit/entry_list.html", context)


@requires(Perm.AUDIT_VIEW)
def entry_detail(request, pk):
    entry = selectors.access_entry_by_id(request.user, pk)
    changes = [
        (field, value.get("before"), value.get("after"))
        if isinstance(value, dict) and set(value) <= {"before", "after"}
        else (field, None, value)
        for field, value in entry.changes.items()
    ]
    return render(request, "audit/entry_detail.html", {"entry": entry, "changes": changes})


@requires(Perm.AUDIT_VIEW)
@require_POST
def entry_export(request):
    """Export the current filter to CSV or Excel; the export is itself an audit entry."""
    form, filters = _filters(request)
    export_form = ExportForm(request.POST)
    back = f"{reverse('audit:entry-list')}?{request.GET.urlencode()}"
    if filters is None or not export_form.is_valid():
        messages.error(request, "筛选条件或导出选项无效，请检查后重试。")
        return redirect(back)
    fmt = export_form.cleaned_data["format"]
    rows = selectors.search_entries(request.user, filters)
    description = form.describe()
    done = run_service(
        export_form,
        lambda: services.do_export_entries(
            actor=request.user,
            rows=rows,
            fmt=fmt,
            purpose=export_form.cleaned_data["purpose"],
            description=f"：{description}" if description else "",
            request=request,
        ),
    )
    if done is None:
        for error in export_form.non_field_errors():
            messages.error(request, error)
        return redirect(back)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_stream(rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.xlsx_bytes(rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    return response


@requires(Perm.AUDIT_VIEW)
@require_http_methods(["GET", "POST"])
def verify(request):
    """Run the same chain verification as ``manage.py verify_audit``, without moving the head file."""
    result = run_verification(record=False) if request.method == "POST" else None
    return render(request, "audit/verify.html", {"result": result})
