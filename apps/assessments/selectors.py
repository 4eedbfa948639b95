"""Read queries of assessments; client data is always scoped to the acting user or the client."""

from django.db.models import Max, Q

from apps.core.access import active_grant, scope
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

from .choices import BandLevel
from .models import AssessmentLink, AssessmentResult, CutoffSetting, Scale, ScaleVersion


def _client_results(client):
    # The caller has already been authorised for ``client``; these rows belong to it alone.
    return AssessmentResult.objects.filter(client=client).mark_scoped()


def results_for(client, scale_code: str | None = None):
    """The client's results, oldest first, with version and scale loaded (all scales when no code)."""
    rows = _client_results(client).select_related("scale_version__scale", "administered_by")
    if scale_code:
        rows = rows.filter(scale_version__scale__code=scale_code)
    return rows.order_by("administered_at", "id")


def latest_result(client, scale_code: str) -> AssessmentResult | None:
    """The client's most recent result on ``scale_code``, or None."""
    return (
        _client_results(client)
        .select_related("scale_version__scale")
        .filter(scale_version__scale__code=scale_code)
        .order_by("-administered_at", "-id")
        .first()
    )


def visible_results(user, perm: str = Perm.ASSESSMENT_VIEW):
    """Results ``user`` may see, newest first, ready for a list page."""
    return (
        scope(AssessmentResult.objects.all(), user, perm)
        .select_related("scale_version__scale", "client", "unit", "administered_by")
        .order_by("-id")
    )


def links_for(client):
    """The client's self-report links, newest first."""
    return (
        AssessmentLink.objects.filter(client=client)
        .mark_scoped()
        .select_related("scale_version__scale", "created_by")
        .order_by("-id")
    )


def tenant_id_of(user) -> int | None:
    """The tree root of the user's active unit (None without a grant)."""
    grant = active_grant(user)
    if grant is None:
        return None
    return int(grant.unit_path.strip("/").split("/")[0])


def scales_for_tenant(tenant_id: int | None):
    """Active scales usable in tenant ``tenant_id``: the shipped ones and its own imports."""
    rows = Scale.objects.filter(is_active=True)
    if tenant_id is None:
        return rows.filter(tenant__isnull=True)
    return rows.filter(Q(tenant__isnull=True) | Q(tenant_id=tenant_id))


def visible_scales(user):
    """Scales the user's tenant uses, with their newest version number."""
    return scales_for_tenant(tenant_id_of(user)).annotate(latest=Max("versions__number")).order_by("code")


def access_scale_by_id(pk, user) -> Scale:
    """One scale of the user's tenant or shipped, or 404."""
    from django.http import Http404

    try:
        return scales_for_tenant(tenant_id_of(user)).get(pk=int(pk))
    except (Scale.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def scale_by_code(code: str, tenant_id: int | None) -> Scale | None:
    """The scale a tenant means by ``code``: its own import first, else the shipped one."""
    rows = [s for s in scales_for_tenant(tenant_id).filter(code=code)]
    rows.sort(key=lambda s: s.tenant_id is None)
    return rows[0] if rows else None


def current_version(scale: Scale) -> ScaleVersion | None:
    return scale.versions.order_by("-number").first()


def cutoff_for(scale: Scale, unit: OrgUnit) -> CutoffSetting | None:
    """The cut-off setting nearest to ``unit`` (itself, else its closest ancestor), or None."""
    ids = [*unit.ancestor_ids, unit.pk]
    settings_by_unit = {c.unit_id: c for c in CutoffSetting.objects.filter(scale=scale, unit_id__in=ids)}
    for unit_id in reversed(ids):
        if unit_id in settings_by_unit:
            return settings_by_unit[unit_id]
    return None


def open_case_counsellor(client):
    """The counsellor of the client's open case, if any (for alarm notifications)."""
    from apps.casework.models import Case
    from apps.casework.services import OPEN_STATES

    with unscoped("notify the counsellor of a client's open case about an alarming result"):
        case = (
            Case.objects.filter(client=client, state__in=OPEN_STATES, counsellor__isnull=False)
            .select_related("counsellor")
            .order_by("-id")
            .first()
        )
    return case.counsellor if case and case.counsellor.is_active else None


def filtered_results(user, filters):
    """The results list with its filters ``scale``, ``level`` and ``critical`` (as the page applies them)."""
    rows = visible_results(user)
    scale = str(filters.get("scale", "")).strip()
    level = str(filters.get("level", "")).strip()
    if scale:
        rows = rows.filter(scale_version__scale__code=scale)
    if level in BandLevel.values:
        rows = rows.filter(band_level=level)
    if filters.get("critical") == "1":
        rows = rows.filter(critical=True)
    return rows
