"""``{% export_buttons "dataset_key" %}``: the Excel (and CSV) buttons every list carries (X-3).

Shown only when the active grant holds the export permission and the dataset's own view permission;
the list's current filters travel with the request, paging parameters do not. A list inside a
detail page names its parent as a keyword filter: ``{% export_buttons "key" project=project.pk %}``.
"""

from django import template
from django.urls import reverse

from apps.core.access import can
from apps.core.perms import Perm

from ..registry import get_dataset

register = template.Library()

PAGING_PARAMETERS = ("after", "before", "cursor", "page")


@register.inclusion_tag("exports/buttons.html", takes_context=True)
def export_buttons(context, dataset_key: str, **fixed_filters):
    request = context.get("request")
    user = getattr(request, "user", None)
    dataset = get_dataset(dataset_key)
    if user is None or not user.is_authenticated or not can(user, dataset.view_permission):
        return {"buttons": []}
    params = request.GET.copy()
    for name in PAGING_PARAMETERS:
        params.pop(name, None)
    for name, value in fixed_filters.items():
        params[name] = str(value)
    query = f"?{params.urlencode()}" if params else ""
    buttons = []
    if can(user, Perm.EXPORT_XLSX):
        buttons.append(
            ("xlsx", "导出 Excel", "bi-file-earmark-excel", reverse("exports:request-xlsx", args=[dataset.key]) + query)
        )
    if can(user, Perm.EXPORT_CSV):
        buttons.append(
            ("csv", "导出 CSV", "bi-filetype-csv", reverse("exports:request-csv", args=[dataset.key]) + query)
        )
    return {"buttons": buttons, "dataset": dataset}
