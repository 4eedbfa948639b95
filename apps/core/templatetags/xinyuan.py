from django import template

register = template.Library()


@register.filter
def bootstrap(field):
    """Render a bound form field with the Bootstrap class its widget needs (and is-invalid on error)."""
    widget = field.field.widget
    input_type = getattr(widget, "input_type", None)
    if input_type == "checkbox" and getattr(widget, "allow_multiple_selected", False):
        return field.as_widget()
    if input_type == "checkbox":
        css = "form-check-input"
    elif input_type == "select" or widget.__class__.__name__ in ("Select", "SelectMultiple"):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})
