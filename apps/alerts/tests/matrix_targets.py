"""Authorization-matrix targets of apps.alerts: each warning is created in the unit the request aims at."""

from apps.core.scoping import unscoped
from tests.authz import Target


def _warning(world, unit):
    """The active warning of the matrix client registered in ``unit`` (created once)."""
    from django.utils import timezone

    from apps.alerts.models import Warning

    client = world.client[unit.pk]
    with unscoped("matrix set-up"):
        row = Warning.objects.filter(client=client).exclude(state="closed").first()
        if row is None:
            row = Warning.objects.create(
                client=client, unit=unit, unit_path=unit.path, tenant_id=unit.tenant_id or unit.pk, centre=unit,
                proposed_colour=2, reason="矩阵标记", tagged_at=timezone.now(),
            )  # fmt: skip
    return {"pk": row.pk}


def _client(world, unit):
    return {"client_pk": world.client[unit.pk].pk}


def _tag_body(world, unit):
    return {"client": world.client[unit.pk].pk, "proposed_colour": 2, "reason": "矩阵标记"}


TARGETS = {
    "alerts:dashboard": Target(),
    "alerts:warning-list": Target(),
    "alerts:warning-detail": Target(_warning),
    "alerts:warning-set-colour": Target(_warning),
    "alerts:warning-feedback": Target(_warning),
    "alerts:warning-contact": Target(_warning),
    "alerts:warning-complete-cycle": Target(_warning),
    "alerts:warning-change-colour": Target(_warning),
    "alerts:warning-continue": Target(_warning),
    "alerts:warning-control": Target(_warning),
    "alerts:warning-responder": Target(_warning),
    "alerts:warning-close": Target(_warning),
    "alerts:tag-lookup": Target(),
    "alerts:warning-tag": Target(_client, body=lambda w, u: {"proposed_colour": 2, "reason": "矩阵标记"}),
    "alerts:policy": Target(),
    "alert-warning-list": Target(body=_tag_body),
    "alert-warning-detail": Target(_warning),
    "alert-warning-set-colour": Target(_warning),
    "alert-warning-feedback": Target(_warning),
    "alert-warning-contact": Target(_warning),
    "alert-warning-complete-cycle": Target(_warning),
    "alert-warning-change-colour": Target(_warning),
    "alert-warning-continue-tracking": Target(_warning),
    "alert-warning-enter-control": Target(_warning),
    "alert-warning-assign-responder": Target(_warning),
    "alert-warning-close": Target(_warning),
    "alert-dashboard-list": Target(),
}
