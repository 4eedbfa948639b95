"""Pages of assessments: results, paper entry, one-time links (staff), the public self-report page."""

import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.audit.services import log_read
from apps.clients.models import Client
from apps.core.access import access_by_id, active_grant, can
from apps.core.forms import run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, public, requires
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import BandLevel
from .forms import CutoffForm, LinkForm, PaperEntryForm, ScaleImportForm, SelfReportForm, collected_answers
from .models import AssessmentLink, AssessmentResult


def _act(request, action, success: str) -> None:
    """Run a one-button service call and report the outcome as a message (the caller redirects)."""
    try:
        action()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)


def _client(request, pk, perm):
    return access_by_id(Client.objects.select_related("unit"), pk, request.user, perm)


@requires(Perm.ASSESSMENT_VIEW)
def result_list(request):
    """Every result in the user's scope, newest first; filter by scale, level or critical items."""
    rows = selectors.filtered_results(request.user, request.GET)
    scale = request.GET.get("scale", "").strip()
    level = request.GET.get("level", "").strip()
    page = keyset_page(rows, request, descending=True)
    context = {
        "page": page,
        "scale": scale,
        "level": level,
        "critical": request.GET.get("critical") == "1",
        "levels": BandLevel.choices,
        "scales": selectors.visible_scales(request.user),
    }
    return render(request, "assessments/result_list.html", context)


def _series(results) -> list[dict]:
    """One chart series per scale: dates, scores, band labels; the client's results page draws them."""
    by_scale: dict[str, dict] = {}
    for result in results:
        scale = result.scale_version.scale
        entry = by_scale.setdefault(
            scale.code,
            {
                "code": scale.code,
                "name": scale.name,
                "score_name": result.scale_version.definition["scoring"]["score_name"],
                "points": [],
                "bands": result.scale_version.definition["bands"],
            },
        )
        entry["points"].append(
            [timezone.localtime(result.administered_at).strftime("%Y-%m-%d"), float(result.score), result.band_label]
        )
    return list(by_scale.values())


@requires(Perm.ASSESSMENT_VIEW)
def client_results(request, client_id):
    """One client's results, a trend chart per scale, and pending self-report links."""
    client = _client(request, client_id, Perm.ASSESSMENT_VIEW)
    log_read(request.user, client, purpose="查看测评结果", request=request)
    results = list(selectors.results_for(client))
    can_administer = can(request.user, Perm.ASSESSMENT_ADMINISTER, client)
    now = timezone.now()
    links = [(link, AssessmentLink.STATE_LABELS[link.state_at(now)]) for link in selectors.links_for(client)[:20]]
    context = {
        "client": client,
        "results": list(reversed(results)),
        "series": _series(results),
        "links": links,
        "can_administer": can_administer,
        "scales": selectors.scales_for_tenant(client.tenant_id).order_by("code"),
    }
    if can_administer:
        context["link_form"] = LinkForm(scales=context["scales"])
    return render(request, "assessments/client_results.html", context)


@requires(Perm.ASSESSMENT_ADMINISTER)
@require_http_methods(["GET", "POST"])
def result_create(request, client_id):
    """Enter a client's paper answers: choose the scale, then one choice per item."""
    client = _client(request, client_id, Perm.ASSESSMENT_ADMINISTER)
    scales = selectors.scales_for_tenant(client.tenant_id).order_by("code")
    code = request.GET.get("scale", "").strip()
    if not code:
        return render(request, "assessments/result_choose.html", {"client": client, "scales": scales})
    try:
        version = services.resolve_version(client, code)
    except ValidationError:
        raise Http404 from None
    form = PaperEntryForm(request.POST or None, definition=version.definition)
    if request.method == "POST" and form.is_valid():
        result = run_service(
            form,
            lambda: services.do_record_result(
                actor=request.user,
                client=client,
                scale_code=code,
                answers=collected_answers(form),
                administered_at=form.cleaned_data["administered_on"],
            ),
        )
        if result:
            messages.success(
                request, f"已保存：{result.scale_code} {result.band_label}（{result.score.normalize():f}）"
            )
            return redirect("assessments:result-detail", result.pk)
    return render(request, "assessments/result_form.html", {"client": client, "version": version, "form": form})


@requires(Perm.ASSESSMENT_VIEW)
def result_detail(request, pk):
    """One result with its answers, scored with the version it was recorded with. The read is audited."""
    result = access_by_id(
        AssessmentResult.objects.select_related("scale_version__scale", "client", "unit", "administered_by"),
        pk,
        request.user,
        Perm.ASSESSMENT_VIEW,
    )
    log_read(request.user, result, purpose="查看测评作答", request=request)
    definition = result.scale_version.definition
    rows = []
    for item in definition["items"]:
        chosen = result.answers.get(str(item["number"]))
        label = next((o["label"] for o in item["options"] if o["score"] == chosen), "—")
        rows.append((item, chosen, label, item["number"] in result.critical_items))
    factors = [(f["name"], result.factor_scores.get(f["code"], "")) for f in definition["scoring"]["factors"]]
    context = {"result": result, "rows": rows, "factors": factors, "definition": definition}
    return render(request, "assessments/result_detail.html", context)


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@requires(Perm.ASSESSMENT_ADMINISTER)
@require_http_methods(["GET", "POST"])
@never_cache
def link_create(request, client_id):
    """Create a one-time link and show its URL and QR code once (only the token's hash is kept)."""
    client = _client(request, client_id, Perm.ASSESSMENT_ADMINISTER)
    scales = selectors.scales_for_tenant(client.tenant_id).order_by("code")
    form = LinkForm(request.POST or None, scales=scales)
    if request.method == "POST" and form.is_valid():
        created = run_service(
            form,
            lambda: services.do_create_link(
                actor=request.user, client=client, scale_code=form.cleaned_data["scale"], days=form.cleaned_data["days"]
            ),
        )
        if created:
            link, token = created
            url = request.build_absolute_uri(reverse("assessments:take", args=[token]))
            context = {"client": client, "link": link, "url": url, "qr": _qr_svg(url)}
            return render(request, "assessments/link_created.html", context)
    return render(request, "assessments/link_form.html", {"client": client, "form": form})


@requires(Perm.ASSESSMENT_ADMINISTER)
@require_POST
def link_revoke(request, pk):
    link = access_by_id(AssessmentLink.objects.all(), pk, request.user, Perm.ASSESSMENT_ADMINISTER)
    _act(request, lambda: services.do_revoke_link(actor=request.user, link=link), "链接已作废。")
    return redirect("assessments:client-results", link.client_id)


@requires(Perm.ASSESSMENT_VIEW)
def scale_list(request):
    context = {"scales": selectors.visible_scales(request.user), "can_manage": can(request.user, Perm.SCALE_MANAGE)}
    return render(request, "assessments/scale_list.html", context)


def _grant_unit(request) -> OrgUnit:
    grant = active_grant(request.user)
    if grant is None:
        raise Http404
    return OrgUnit.objects.get(pk=grant.unit_id)


@requires(Perm.ASSESSMENT_VIEW)
def scale_detail(request, pk):
    """A scale's current version: items, options, bands; and the cut-offs in force at the user's unit."""
    scale = selectors.access_scale_by_id(pk, request.user)
    version = selectors.current_version(scale)
    unit = _grant_unit(request)
    setting = selectors.cutoff_for(scale, unit)
    context = {
        "scale": scale,
        "version": version,
        "versions": list(scale.versions.select_related("imported_by")),
        "setting": setting,
        "unit": unit,
        "can_manage": can(request.user, Perm.SCALE_MANAGE),
    }
    return render(request, "assessments/scale_detail.html", context)


@requires(Perm.SCALE_MANAGE)
@require_http_methods(["GET", "POST"])
def scale_import(request):
    """Import a scale (new, or a new version of the tenant's own) from a JSON or Excel definition."""
    form = ScaleImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            valid = form.is_valid()
        except ValidationError as error:
            form.add_error(None, error)
            valid = False
        if valid:
            tenant = OrgUnit.objects.get(pk=selectors.tenant_id_of(request.user))
            version = run_service(
                form,
                lambda: services.do_import_scale(
                    actor=request.user, data=form.cleaned_data["definition"], tenant=tenant
                ),
            )
            if version:
                messages.success(request, f"已导入 {version.scale.code} 第 {version.number} 版。")
                return redirect("assessments:scale-detail", version.scale_id)
    return render(request, "assessments/scale_import.html", {"form": form})


@requires(Perm.SCALE_MANAGE)
@require_http_methods(["GET", "POST"])
def cutoff_edit(request, pk):
    """Set the active unit's own cut-offs for a scale (S-WARN-6); its subtree inherits them."""
    scale = selectors.access_scale_by_id(pk, request.user)
    unit = _grant_unit(request)
    setting = selectors.cutoff_for(scale, unit)
    version = selectors.current_version(scale)
    bands = setting.bands if setting else version.bands
    if len(bands) != len(version.bands):
        bands = version.bands
    form = CutoffForm(request.POST or None, bands=bands)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form, lambda: services.do_set_cutoffs(actor=request.user, unit=unit, scale=scale, bands=form.bands())
        )
        if done:
            messages.success(request, f"已保存{unit.name}的 {scale.code} 划界分，下级单位自动沿用。")
            return redirect("assessments:scale-detail", scale.pk)
    context = {"scale": scale, "unit": unit, "form": form, "setting": setting, "version": version}
    return render(request, "assessments/cutoff_form.html", context)


@requires(Perm.SCALE_MANAGE)
@require_POST
def cutoff_clear(request, pk):
    scale = selectors.access_scale_by_id(pk, request.user)
    unit = _grant_unit(request)
    _act(request, lambda: services.do_clear_cutoffs(actor=request.user, unit=unit, scale=scale), "已恢复为默认划界分。")
    return redirect("assessments:scale-detail", scale.pk)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def take(request, token):
    """The client's one-time page: consent notice first, then the items; save for later or submit once."""
    link = services.link_by_token(token)
    if link is None:
        return render(request, "assessments/public/closed.html", {"message": "链接无效。"}, status=404)
    try:
        services.check_link_open(link)
    except ValidationError as error:
        return render(request, "assessments/public/closed.html", {"message": error.messages[0]}, status=410)
    definition = link.scale_version.definition
    context = {"link": link, "definition": definition, "unit": link.unit}
    action = request.POST.get("action", "")
    if link.consented_at is None:
        if request.method == "POST" and action == "consent" and request.POST.get("agree") == "1":
            try:
                services.do_consent(link=link)
            except ValidationError as error:  # closed between loading and consenting
                return render(request, "assessments/public/closed.html", {"message": error.messages[0]}, status=410)
            return redirect(request.path)
        context["need_agree"] = request.method == "POST"
        return render(request, "assessments/public/consent.html", context)
    # Items are never "required" on the form: the saved progress counts too, and the service names
    # exactly which items are still missing (in Chinese) when the client submits.
    form = SelfReportForm(
        request.POST if request.method == "POST" else None,
        definition=definition,
        initial_answers=link.progress,
        required=False,
    )
    if request.method == "POST" and form.is_valid():
        answers = collected_answers(form)
        if action == "submit":
            if run_service(form, lambda: services.do_submit_link(link=link, answers=answers)):
                return render(request, "assessments/public/done.html", context)
            try:  # keep what was answered; a link that closed meanwhile shows the closed page
                services.do_save_progress(link=link, answers=answers)
            except ValidationError as error:
                return render(request, "assessments/public/closed.html", {"message": error.messages[0]}, status=410)
        elif run_service(form, lambda: services.do_save_progress(link=link, answers=answers)):
            context["saved"] = True
        link.refresh_from_db(fields=["progress"])
        context["errors"] = list(form.non_field_errors())
        form = SelfReportForm(definition=definition, initial_answers=link.progress, required=False)
    context["form"] = form
    context["answered"] = len(link.progress)
    context["item_count"] = len(definition["items"])
    return render(request, "assessments/public/take.html", context)
