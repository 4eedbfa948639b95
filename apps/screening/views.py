from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.clients.models import Client
from apps.clients.selectors import access_client_by_id
from apps.clients.services import check_client_data
from apps.core.access import access_by_id, scope
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.orgs.models import OrgUnit

from . import selectors, services, xlsx
from .forms import ScreeningForm, UploadForm
from .models import ImportBatch

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERSON_FIELDS = ("name", "id_number", "gender", "birth_date", "phone", "address")
SCREENING_FIELDS = ("screened_on", "source", "risk_level", "finding")


def _units(user):
    units = scope(OrgUnit.objects.filter(is_active=True), user, Perm.SCREENING_MANAGE)
    return scope(units, user, Perm.CLIENT_MANAGE).order_by("path")


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@requires(Perm.SCREENING_MANAGE)
def record_list(request):
    page = keyset_page(selectors.visible_records(request.user), request, descending=True)
    return render(request, "screening/record_list.html", {"page": page})


def _duplicates(user, unit, person):
    """What the form may show about likely duplicates: in-scope clients in full, others as a fact."""
    try:
        clean = check_client_data(person)
    except ValidationError:
        return []
    shown = []
    for match in services.find_duplicates(user, unit, clean):
        client = None
        if match.in_scope:
            client = (
                scope(Client.objects.select_related("unit"), user, Perm.CLIENT_MANAGE)
                .filter(pk=match.client_id)
                .first()
            )
        shown.append({"client": client, "labels": match.labels})
    return shown


@requires(Perm.SCREENING_MANAGE)
@require_http_methods(["GET", "POST"])
def record_create(request):
    """Record one person found in screening; register them unless they are in the register already."""
    form = ScreeningForm(request.POST or None, units=_units(request.user))
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = data["unit"]
        screening = {key: data[key] for key in SCREENING_FIELDS}
        person = {key: data[key] for key in PERSON_FIELDS}
        link = request.POST.get("link_client", "")
        try:
            if link:
                client, _ = access_client_by_id(request.user, link, Perm.CLIENT_MANAGE)
                record = services.do_record_screening(actor=request.user, unit=unit, screening=screening, client=client)
            else:
                guardian = {
                    "name": data["guardian_name"],
                    "relationship": data["guardian_relationship"],
                    "phone": data["guardian_phone"],
                    "consent": data["guardian_consent"],
                }
                record = services.do_record_screening(
                    actor=request.user, unit=unit, screening=screening, person=person,
                    categories=data["categories"], confirm_new=data["confirm_new"], guardian=guardian,
                )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            if getattr(exc, "code", None) in ("duplicate", "other_unit", "same_id"):
                duplicates = _duplicates(request.user, unit, person)
        else:
            messages.success(request, f"已登记排查记录（来访者 #{record.client_id}）。")
            return redirect("screening:record-list")
    return render(request, "screening/record_form.html", {"form": form, "duplicates": duplicates})


@requires(Perm.SCREENING_MANAGE)
@require_http_methods(["GET", "POST"])
def batch_list(request):
    """Upload a screening spreadsheet and see earlier imports."""
    form = UploadForm(request.POST or None, request.FILES or None, units=_units(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.do_upload_import(
                actor=request.user, unit=form.cleaned_data["unit"], upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            form.add_error("file" if getattr(exc, "code", "") in ("type", "size", "empty") else None, exc)
        else:
            return redirect("screening:batch-detail", pk=batch.pk)
    page = keyset_page(selectors.visible_batches(request.user), request, descending=True)
    return render(request, "screening/batch_list.html", {"form": form, "page": page})


def _batch(request, pk) -> ImportBatch:
    batch = access_by_id(
        ImportBatch.objects.select_related("unit", "uploaded_by"), pk, request.user, Perm.SCREENING_MANAGE
    )
    return services.expire_if_stale(batch)


@requires(Perm.SCREENING_MANAGE)
@require_GET
def batch_detail(request, pk):
    return render(request, "screening/batch_detail.html", {"batch": _batch(request, pk)})


@requires(Perm.SCREENING_MANAGE)
@require_GET
def batch_status(request, pk):
    """The progress fragment htmx polls every second while the import runs."""
    return render(request, "screening/_batch_status.html", {"batch": _batch(request, pk)})


@requires(Perm.SCREENING_MANAGE)
@require_GET
def batch_report(request, pk):
    batch = _batch(request, pk)
    return _xlsx(xlsx.report_bytes(batch), f"import-report-{batch.pk}.xlsx")


@requires(Perm.SCREENING_MANAGE)
@require_GET
def template_download(request):
    return _xlsx(xlsx.template_bytes(), "screening-template.xlsx")
