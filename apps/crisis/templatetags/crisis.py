"""``{% crisis_banner record %}``: the crisis banner of a remote inquiry or a reception.

A tag rather than view code so a record's page shows the banner with one include line; showing it
writes an audit entry per flag (who saw it, when, from where).
"""

from django import template
from django.urls import reverse

from apps.core.access import can
from apps.core.perms import Perm

from .. import selectors, services

register = template.Library()


@register.inclusion_tag("crisis/_banner.html", takes_context=True)
def crisis_banner(context, record):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or record is None:
        return {"flags": []}
    flags = selectors.flags_for(user, record)
    if not flags:
        return {"flags": []}
    services.record_flags_seen(actor=user, flags=flags, request=request)
    client_id = getattr(record, "client_id", None)
    tag_url = ""
    if client_id and can(user, Perm.ALERT_TAG, record):
        tag_url = reverse("alerts:warning-tag", kwargs={"client_pk": client_id})
    return {
        "flags": flags,
        "phrases": sorted({p for flag in flags for p in flag.phrases}),
        "fields": sorted({f for flag in flags for f in flag.fields}),
        "notified": sorted({u.full_name for flag in flags for u in flag.notified.all()}),
        "designated": any(flag.notified_designated for flag in flags),
        "tag_url": tag_url,
        "client_id": client_id,
        "can_tag": can(user, Perm.ALERT_TAG),
    }
