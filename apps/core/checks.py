"""``manage.py check`` fails for any URL whose view does not declare a permission."""

from django.core.checks import Error, Tags, register
from django.urls import URLPattern, URLResolver, get_resolver

from .perms import Perm

SPECIAL = {"__public__", "__authenticated__"}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def iter_patterns(patterns, prefix=""):
    """Yield ``(route, name, callback)`` for every URL pattern, following includes."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{pattern.namespace}:" if pattern.namespace else ""
            for route, name, callback in iter_patterns(pattern.url_patterns, prefix + str(pattern.pattern)):
                yield route, (ns + name if name and ns and not name.startswith(ns) else name), callback
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, pattern.callback


def declared_permissions(callback) -> dict[str, str] | None:
    """Return {action or method: permission} that a view declares, or None when it declares nothing.

    Function views carry ``xinyuan_permission``; DRF views carry ``permission_map`` on their class.
    """
    single = getattr(callback, "xinyuan_permission", None)
    if single is not None:
        return {"*": single}
    cls = getattr(callback, "cls", None)
    if cls is None:
        return None
    declared = getattr(cls, "permission_map", None)
    if not declared:
        return None
    actions = getattr(callback, "actions", None)
    if actions:  # a viewset route: every bound action must be declared
        needed = {action for method, action in actions.items() if method not in ("head", "options")}
    else:
        needed = {m for m in HTTP_METHODS if hasattr(cls, m)}
    if not needed <= set(declared):
        return None
    return {key: declared[key] for key in needed}


def undeclared_urls(urlconf=None) -> list[str]:
    """Routes whose view declares no permission, or declares an unknown one."""
    problems = []
    for route, _name, callback in iter_patterns(get_resolver(urlconf).url_patterns):
        declared = declared_permissions(callback)
        if declared is None:
            problems.append(route)
            continue
        for perm in declared.values():
            if perm not in SPECIAL and perm not in Perm.values:
                problems.append(f"{route} ({perm})")
    return problems


@register(Tags.security)
def check_url_permissions(app_configs=None, **kwargs):
    return [
        Error(
            f"URL {route!r} does not declare a permission.",
            hint="Wrap the view in apps.core.perms.requires(...) / public / login_only, "
            "or give the DRF view a permission_map covering every action.",
            id="xinyuan.E001",
        )
        for route in undeclared_urls()
    ]
