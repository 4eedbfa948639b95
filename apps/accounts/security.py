"""Session rules of MLPS level 3: two factors, idle and absolute timeouts, re-authentication.

* Accounts holding a permission in ``TWO_FACTOR_PERMS`` must pass a TOTP (or recovery) code
  before any page when ``settings.TWO_FACTOR_MANDATORY`` is on; until then they reach only the
  two-factor pages and logout.
* A session ends after ``IDLE_TIMEOUT_NOTES`` seconds without a request for accounts that see
  counselling notes, ``IDLE_TIMEOUT`` for the others, and ``SESSION_ABSOLUTE_LIFETIME`` after login
  whatever the activity.
* Exports, unmasking and confidentiality overrides call ``recent_auth_required``: the password
  (and code) must have been entered again within ``REAUTH_MAX_AGE`` seconds.
* ``policy_refusal`` is the one rule set of a request by a logged-in user: the session middleware
  asks it for sessions, ``apps.core.api.XinyuanTokenAuthentication`` for API tokens (issue 14 item 3).
* Failed logins (issue 14 item 10): django-axes locks an *account* after ``AXES_FAILURE_LIMIT``
  failures for ``AXES_COOLOFF_TIME``; ``LoginGuardBackend`` also refuses an *address* after
  ``LOGIN_IP_FAILURE_LIMIT`` failures (any usernames) in that time, and lets the owner of a locked
  account who has a confirmed second factor log in with password and code, which clears the lock.
"""

import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from apps.core.access import user_assignments
from apps.core.perms import NOTE_PERMS, TWO_FACTOR_PERMS

AUTH_AT = "xinyuan_auth_at"
SEEN_AT = "xinyuan_seen_at"
REAUTH_AT = "xinyuan_reauth_at"
LOCKOUT_PENDING = "xinyuan_lockout_second_factor"  # a locked account logged in; the code clears the lock
SEEN_WRITE_EVERY = 60  # seconds: avoid a session write on every request


def _held_permissions(user) -> set[str]:
    return {perm for a in user_assignments(user) for perm in a.role.permissions}


def needs_two_factor(user) -> bool:
    """Whether this account must use a second factor (any of its roles sees identified data)."""
    return settings.TWO_FACTOR_MANDATORY and bool(_held_permissions(user) & TWO_FACTOR_PERMS)


def idle_limit(user) -> int:
    """Seconds of inactivity after which the session ends."""
    if _held_permissions(user) & NOTE_PERMS:
        return settings.IDLE_TIMEOUT_NOTES
    return settings.IDLE_TIMEOUT


def has_device(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def mark_authenticated(session) -> None:
    """Start the clocks of a fresh login (called on the login signal)."""
    now = int(time.time())
    session[AUTH_AT] = now
    session[SEEN_AT] = now
    session[REAUTH_AT] = now


def mark_reauthenticated(session) -> None:
    session[REAUTH_AT] = int(time.time())


EXEMPT_PREFIXES = ("/static/", "/healthz", "/i18n/")


def _exempt_names():
    return {
        reverse("accounts:login"),
        reverse("accounts:logout"),
        reverse("accounts:two-factor-setup"),
        reverse("accounts:two-factor-verify"),
    }


@dataclass(frozen=True)
class Refusal:
    """Why a request of a logged-in user is refused: ``ended`` (log in again) or ``second_factor``."""

    kind: str
    message: str


def _session_clocks(session, user, now: int) -> Refusal | None:
    auth_at = session.get(AUTH_AT)
    if auth_at is None:  # a session from before these rules (or force_login in tests)
        session[AUTH_AT] = session[SEEN_AT] = auth_at = now
    if now - auth_at > settings.SESSION_ABSOLUTE_LIFETIME:
        return Refusal("ended", "登录已超过最长有效时间，请重新登录。")
    seen_at = session.get(SEEN_AT, now)
    limit = idle_limit(user)
    if now - seen_at > limit:
        return Refusal("ended", f"由于 {limit // 60} 分钟未操作，已自动退出，请重新登录。")
    if now - seen_at >= SEEN_WRITE_EVERY:
        session[SEEN_AT] = now
    return None


def policy_refusal(user, *, session=None, second_factor_done: bool) -> Refusal | None:
    """The rules every request of a logged-in user passes, through a session or an API token.

    ``session`` carries the clocks (absolute lifetime and idle timeout); a token has none and
    passes ``None`` — its expiry and idle days are checked in ``apps.accounts.tokens``.
    ``second_factor_done``: for a session, the code was entered in it (``user.is_verified()``);
    for a token, the owner has a confirmed device (the token was made behind the code).
    """
    if not user.is_active:
        return Refusal("ended", "账号已停用。")
    if session is not None:
        refusal = _session_clocks(session, user, int(time.time()))
        if refusal is not None:
            return refusal
        if session.get(LOCKOUT_PENDING) and not second_factor_done:
            return Refusal("second_factor", "该账号因多次登录失败已被锁定，请输入验证码以解除锁定。")
    if needs_two_factor(user) and not second_factor_done:
        return Refusal("second_factor", "该账号须先完成双因素认证。")
    return None


class SessionPolicyMiddleware:
    """Apply the timeouts and the two-factor rule to every request of a logged-in session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = self._enforce(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request, user):
        verified = user.is_verified() if hasattr(user, "is_verified") else False
        refusal = policy_refusal(user, session=request.session, second_factor_done=verified)
        if refusal is None:
            return None
        if refusal.kind == "ended":
            return self._end(request, refusal.message)
        path = request.path
        if path.startswith(EXEMPT_PREFIXES) or path in _exempt_names():
            return None
        if path.startswith("/api/"):
            return JsonResponse({"detail": refusal.message}, status=403)
        target = "accounts:two-factor-verify" if has_device(user) else "accounts:two-factor-setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")

    def _end(self, request, message: str):
        logout(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=401)
        messages.info(request, message)
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")


def recent_auth_required(view):
    """Send the user to re-enter their password (and code) unless they did so a moment ago."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        reauth_at = request.session.get(REAUTH_AT, 0)
        if int(time.time()) - reauth_at > settings.REAUTH_MAX_AGE:
            return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapped


# --- failed logins: per address and per account (issue 14 item 10) ---

IP_FAILURES_KEY = "xinyuan:login-failures:ip:{}"


def _login_address(request) -> str:
    from apps.audit.services import client_ip

    return client_ip(request) or "unknown"


def address_failures(request) -> int:
    """Failed logins from the request's address (any usernames) in the current window."""
    return cache.get(IP_FAILURES_KEY.format(_login_address(request)), 0)


def address_blocked(request) -> bool:
    return address_failures(request) >= settings.LOGIN_IP_FAILURE_LIMIT


@receiver(user_login_failed, dispatch_uid="xinyuan-login-failures-per-address")
def count_address_failure(sender, credentials, request=None, **kwargs):
    """Count a failure against the address in the shared cache; the window starts at its first failure."""
    if request is None:
        return
    key = IP_FAILURES_KEY.format(_login_address(request))
    cache.add(key, 0, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))


def clear_account_lockout(user) -> int:
    """Clear the account's failed-login records (second factor passed, or a security administrator)."""
    from axes.utils import reset as axes_reset

    return axes_reset(username=user.get_username())


def _owner_with_second_factor(username, password) -> bool:
    """Whether the password is right and the account has a confirmed device to prove the rest."""
    if not username or not password:
        return False
    user = get_user_model()._default_manager.filter(username=username).first()
    return bool(user and user.is_active and user.check_password(password) and has_device(user))


class LoginGuardBackend(AxesStandaloneBackend):
    """First authentication backend: refuses busy addresses and locked accounts.

    * An address with ``LOGIN_IP_FAILURE_LIMIT`` failures (any usernames) in the cool-off window
      gets the lockout page for every login until the window ends; offices behind one NAT address
      stay below the limit, which is well above the per-account one.
    * A locked account (django-axes, per username) is refused — except when the password is
      right and the account has a confirmed second factor: then the login goes ahead, the session
      reaches nothing until the code is entered (``LOCKOUT_PENDING``), and the code clears the
      lock. A stranger can therefore lock a named account for at most the cool-off, and not at
      all for its owner who uses two factors.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and getattr(settings, "AXES_ENABLED", True) and address_blocked(request):
            request.axes_locked_out = True
            request.xinyuan_address_blocked = True
            raise AxesBackendPermissionDenied("too many failed logins from this address")
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            if _owner_with_second_factor(username, password):
                request.axes_locked_out = False  # django-axes marks the request before refusing
                request.xinyuan_lockout_bypass = True
                return None  # the next backend logs the user in; the session waits for the code
            raise


@receiver(user_logged_in, dispatch_uid="xinyuan-login-lockout-state")
def lockout_state_at_login(sender, request, user, **kwargs):
    """A normal login clears the account's failures; a login past a lock waits for the second factor."""
    if request is None or not hasattr(request, "session"):
        return
    if getattr(request, "xinyuan_lockout_bypass", False):
        request.session[LOCKOUT_PENDING] = True
    else:
        request.session.pop(LOCKOUT_PENDING, None)
        clear_account_lockout(user)
