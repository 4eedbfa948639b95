"""Log logins, logouts, failed logins and lockouts from Django's (and django-axes') signals."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .choices import AuditAction, AuditOutcome
from .services import log_event


@receiver(user_logged_in, dispatch_uid="audit_logged_in")
def on_logged_in(sender, request=None, user=None, **kwargs):
    log_event(actor=user, action=AuditAction.LOGIN, obj=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit_logged_out")
def on_logged_out(sender, request=None, user=None, **kwargs):
    if user is None:  # logging out without a session: nothing happened
        return
    log_event(actor=user, action=AuditAction.LOGOUT, obj=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def on_login_failed(sender, credentials=None, request=None, **kwargs):
    """No user is known for a failed login; the attempted username goes into the label."""
    username = str((credentials or {}).get("username") or "")
    log_event(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        outcome=AuditOutcome.FAILURE,
        object_type="accounts.user",
        label=username,
        request=request,
    )


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    """django-axes ``user_locked_out``: connected in ``AuditConfig.ready`` when axes is installed."""
    log_event(
        actor=None,
        action=AuditAction.LOCKOUT,
        outcome=AuditOutcome.DENIED,
        object_type="accounts.user",
        label=str(username or ""),
        request=request,
        ip_address=ip_address,
    )
