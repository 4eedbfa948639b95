from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.security import recent_auth_required
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, login_only, requires

from . import services
from .choices import ExportFormat
from .forms import ExportRequestForm
from .models import ExportJob
from .registry import get_dataset
from .templatetags.exports import PAGING_PARAMETERS


def list_filters(params) -> dict[str, str]:
    """The list's own filters (paging dropped, bounded): each dataset validates what it reads."""
    filters = {}
    for key, value in params.items():
        if key in PAGING_PARAMETERS or not value or len(filters) >= 20:
            continue
        filters[key[:50]] = value[:200]
    return filters


def _request_export(request, dataset_key: str, fmt: str):
    try:
        dataset = get_dataset(dataset_key)
    except ValidationError:
        raise Http404 from None
    form = ExportRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        filters = list_filters(request.GET)
        result = run_service(
            form,
            lambda: services.do_request_export(
                actor=request.user,
                dataset_key=dataset.key,
                fmt=fmt,
                reason=form.cleaned_data["reason"],
                filters=filters,
            ),
        )
        if result:
            job, password = result
            return render(request, "exports/password.html", {"job": job, "password": password})
    context = {"form": form, "dataset": dataset, "format": ExportFormat(fmt), "filters": list_filters(request.GET)}
    return render(request, "exports/request.html", context)


@requires(Perm.EXPORT_XLSX)
@recent_auth_required
@require_http_methods(["GET", "POST"])
def request_xlsx(request, dataset):
    return _request_export(request, dataset, ExportFormat.XLSX)


@requires(Perm.EXPORT_CSV)
@recent_auth_required
@require_http_methods(["GET", "POST"])
def request_csv(request, dataset):
    return _request_export(request, dataset, ExportFormat.CSV)


@login_only
def job_list(request):
    """The user's own export jobs with their state (the page refreshes itself while one runs)."""
    page = keyset_page(ExportJob.objects.filter(requested_by=request.user), request, descending=True)
    running = any(job.status in ("queued", "running") for job in page)
    return render(request, "exports/job_list.html", {"page": page, "running": running})


@login_only
@require_POST
def download(request, pk):
    job = ExportJob.objects.filter(pk=pk, requested_by=request.user).first()
    if job is None:
        raise Http404
    try:
        path = services.do_record_download(actor=request.user, job=job)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("exports:job-list")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"导出-{job.pk}.zip")
