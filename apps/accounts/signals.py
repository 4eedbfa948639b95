from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .security import mark_authenticated


@receiver(user_logged_in, dispatch_uid="xinyuan-session-clocks")
def start_session_clocks(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_authenticated(request.session)
