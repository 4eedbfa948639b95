"""The unread count on the bell in the top bar."""

from django.utils.functional import SimpleLazyObject


def unread(request):
    """Provide ``shell_unread`` ("", "7" or "99+"); evaluated once, only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .selectors import unread_badge

    return {"shell_unread": SimpleLazyObject(lambda: unread_badge(user))}
