from django import template

from ..choices import Colour

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``{{ row|get_item:"red" }}``: a dict value by a variable key."""
    return mapping.get(key) if mapping else None


@register.filter
def colour_name(value):
    """The Chinese name of a colour number."""
    try:
        return Colour(int(value)).label
    except (TypeError, ValueError):
        return ""


@register.filter
def colour_class(value):
    """A Bootstrap badge class for a colour number."""
    return {3: "text-bg-danger", 2: "alert-badge-orange", 1: "text-bg-warning"}.get(value, "text-bg-secondary")
