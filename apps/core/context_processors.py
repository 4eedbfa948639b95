"""What the page shell (left menu, top bar) needs on every page."""

from django.utils.functional import SimpleLazyObject

from apps.core.access import active_grant, user_assignments

from .menu import menu_for


def shell(request):
    """Grant, posts and menu for the shell; the menu is built only when a page shows it (error pages don't)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    grant = active_grant(user)
    return {
        "shell_grant": grant,
        "shell_assignments": user_assignments(user),
        "shell_menu": SimpleLazyObject(lambda: menu_for(user, request.path)),
    }
