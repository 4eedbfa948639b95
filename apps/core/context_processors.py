"""What the page shell (left menu, top bar) needs on every page."""

from apps.core.access import active_grant, user_assignments

from .menu import menu_for


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    grant = active_grant(user)
    return {
        "shell_grant": grant,
        "shell_assignments": user_assignments(user),
        "shell_menu": menu_for(user, request.path),
    }
