"""Pages for two-factor enrolment and verification, re-authentication and account lockouts."""

from urllib.parse import urlencode

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.access import access_by_id
from apps.core.forms import run_service
from apps.core.perms import Perm, login_only, requires

from . import tokens, two_factor
from .forms import CodeForm, ReauthForm
from .models import User
from .security import has_device, mark_reauthenticated, needs_two_factor


def _next(request, default="/"):
    target = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return target


@login_only
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrol an authenticator app: scan the QR code, confirm one code, receive recovery codes.

    Replacing a confirmed device needs a session that passed it: otherwise a password alone would
    swap the owner's authenticator for the caller's.
    """
    if has_device(request.user) and not request.user.is_verified():
        return redirect(f"{reverse('accounts:two-factor-verify')}?{urlencode({'next': _next(request)})}")
    device = two_factor.pending_totp_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = run_service(
            form,
            lambda: two_factor.do_confirm_totp(
                user=request.user, device=device, code=form.cleaned_data["code"], request=request
            ),
        )
        if codes:
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next(request)})
    context = {
        "form": form,
        "qr_svg": two_factor.provisioning_svg(device),
        "secret": two_factor.secret_text(device),
        "required": needs_two_factor(request.user),
        "next": _next(request),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@login_only
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """Second step of login: a code from the authenticator app, or a recovery code."""
    if not has_device(request.user):
        return redirect("accounts:two-factor-setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: two_factor.do_verify_second_factor(
                user=request.user, code=form.cleaned_data["code"], request=request
            ),
        )
        if done:
            return redirect(_next(request))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": _next(request)})


@login_only
@require_http_methods(["GET", "POST"])
def reauth(request):
    """Enter the password (and code) again before a sensitive act."""
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: two_factor.check_reauthentication(
                request=request, password=form.cleaned_data["password"], code=form.cleaned_data["code"]
            ),
        )
        if done:
            mark_reauthenticated(request.session)
            return redirect(_next(request))
    return render(request, "accounts/reauth.html", {"form": form, "next": _next(request)})


@requires(Perm.SECURITY_MANAGE)
def lockouts(request):
    """Accounts locked after repeated failed logins, for the security administrator."""
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=1).order_by("-attempt_time")[:200]
    return render(request, "accounts/lockouts.html", {"attempts": attempts})


@requires(Perm.SECURITY_MANAGE)
@require_POST
def lockout_reset(request):
    username = (request.POST.get("username") or "").strip()
    if username:
        count = axes_reset(username=username)
        messages.success(request, f"已解除“{username}”的登录锁定（{count} 条记录）。")
    return redirect("accounts:lockouts")


@requires(Perm.SECURITY_MANAGE)
@require_POST
def two_factor_reset(request, pk):
    """Remove a user's second-factor devices (lost phone); they enrol again at next login."""
    subject = access_by_id(User.objects.all(), pk, request.user, Perm.USER_VIEW)
    try:
        two_factor.do_reset_two_factor(user=subject, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("accounts:user-detail", pk=subject.pk)
    messages.success(request, f"已重置“{subject.full_name}”的双因素认证，其下次登录时需重新绑定。")
    return redirect("accounts:user-detail", pk=subject.pk)


@requires(Perm.SECURITY_MANAGE)
@require_POST
def user_tokens_revoke(request, pk):
    """Revoke every API token of an account (lost laptop, leaked key); the administrator guard decides who."""
    subject = access_by_id(User.objects.all(), pk, request.user, Perm.USER_VIEW)
    try:
        count = tokens.do_revoke_user_tokens(actor=request.user, user=subject)
        messages.success(request, f"已作废“{subject.full_name}”的 {count} 个 API 令牌。")
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect("accounts:user-detail", pk=subject.pk)
