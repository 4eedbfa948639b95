"""Session rules of MLPS level 3: two factors, idle and absolute timeouts, re-authentication.

* Accounts holding a permission in ``TWO_FACTOR_PERMS`` must pass a TOTP (or recovery) code
  before any page when ``settings.TWO_FACTOR_MANDATORY`` is on; until then they reach only the
  two-factor pages and logout.
* A session ends after ``IDLE_TIMEOUT_NOTES`` seconds without a request for accounts that see
  counselling notes, ``IDLE_TIMEOUT`` for the others, and ``SESSION_ABSOLUTE_LIFETIME`` after login
  whatever the activity.
* Exports, unmasking and confidentiality overrides call ``recent_auth_required``: the password
  (and code) must have been entered again within ``REAUTH_MAX_AGE`` seconds.
"""

import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from apps.core.access import user_assignments
from apps.core.perms import NOTE_PERMS, TWO_FACTOR_PERMS

AUTH_AT = "xinyuan_auth_at"
SEEN_AT = "xinyuan_seen_at"
REAUTH_AT = "xinyuan_reauth_at"
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
        session = request.session
        now = int(time.time())
        auth_at = session.get(AUTH_AT)
        if auth_at is None:  # a session from before these rules (or force_login in tests)
            session[AUTH_AT] = session[SEEN_AT] = auth_at = now
        if now - auth_at > settings.SESSION_ABSOLUTE_LIFETIME:
            return self._end(request, "登录已超过最长有效时间，请重新登录。")
        seen_at = session.get(SEEN_AT, now)
        limit = idle_limit(user)
        if now - seen_at > limit:
            return self._end(request, f"由于 {limit // 60} 分钟未操作，已自动退出，请重新登录。")
        if now - seen_at >= SEEN_WRITE_EVERY:
            session[SEEN_AT] = now
        if needs_two_factor(user) and not user.is_verified():
            path = request.path
            if path.startswith(EXEMPT_PREFIXES) or path in _exempt_names():
                return None
            if path.startswith("/api/"):
                return JsonResponse({"detail": "该账号须先完成双因素认证。"}, status=403)
            target = "accounts:two-factor-verify" if has_device(user) else "accounts:two-factor-setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return None

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
