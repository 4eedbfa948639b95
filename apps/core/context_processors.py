"""What the page shell (left menu, top bar) needs on every page."""

from apps.core.access import active_grant

from .menu import menu_for


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from apps.accounts.selectors import my_assignments

    grant = active_grant(user)
    return {
        "shell_grant": grant,
        "shell_assignments": list(my_assignments(user)),
        "shell_menu": menu_for(user, request.path),
    }
