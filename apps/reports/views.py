from django.shortcuts import render

from apps.core.access import can
from apps.core.perms import Perm, requires

from . import selectors


@requires(Perm.CLIENT_VIEW)
def summary(request):
    """Information aggregation by unit (S-CLIENT-5), small cells suppressed below district level."""
    context = {
        "tables": selectors.summary_tables(request.user),
        "can_export": can(request.user, Perm.EXPORT_XLSX),
        "small_cell": selectors.SMALL_CELL,
    }
    return render(request, "reports/summary.html", context)
