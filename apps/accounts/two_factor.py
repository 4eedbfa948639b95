"""TOTP enrolment, verification and recovery codes (django-otp), and re-authentication."""

import base64
import io
import secrets

import qrcode
import qrcode.image.svg
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (one at a time), created on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=False)
    return device


def provisioning_svg(device: TOTPDevice) -> str:
    """The otpauth:// QR code as inline SVG markup for the authenticator app."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def secret_text(device: TOTPDevice) -> str:
    """The shared secret in base32, for typing into an app by hand."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def do_confirm_totp(*, user, device: TOTPDevice, code: str, request) -> list[str]:
    """Confirm enrolment with a first code; return fresh recovery codes (shown once)."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or not device.verify_token(code):
        raise ValidationError("验证码不正确或已过期，请查看身份验证器中的最新 6 位数字。", code="invalid")
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = do_regenerate_recovery_codes(user=user)
    otp_login(request, device)
    return codes


@transaction.atomic
def do_regenerate_recovery_codes(*, user) -> list[str]:
    """Replace the user's recovery codes with ten new single-use ones."""
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="恢复码", confirmed=True)
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


def do_verify_second_factor(*, user, code: str, request) -> None:
    """Accept a TOTP code or a single-use recovery code for this session."""
    code = (code or "").strip().replace(" ", "")
    device = match_token(user, code) if code else None
    if device is None:
        raise ValidationError("验证码或恢复码不正确。", code="invalid")
    otp_login(request, device)
    # The owner proved both factors: failed logins by others no longer hold the account locked.
    from .security import LOCKOUT_PENDING, clear_account_lockout

    clear_account_lockout(user)
    request.session.pop(LOCKOUT_PENDING, None)


@transaction.atomic
def do_reset_two_factor(*, user, actor=None) -> None:
    """Remove every second-factor device (lost phone); the user enrols again at next login.

    The account's API tokens die with the devices (issue 14 item 3): they were made behind the
    old second factor.
    """
    from .services import check_may_administer
    from .tokens import revoke_all_tokens

    check_may_administer(actor, user)  # issue 14: never one's own, the three-admin rule
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    revoke_all_tokens(user, actor=actor, reason="双因素认证已重置")


def check_reauthentication(*, request, password: str, code: str = "") -> None:
    """Check the password again, and the second factor when the account has one."""
    user = request.user
    if authenticate(request, username=user.get_username(), password=password or "") is None:
        raise ValidationError("密码不正确。", code="invalid")
    if any(True for _ in devices_for_user(user, confirmed=True)):
        if not code or match_token(user, code.strip()) is None:
            raise ValidationError("请同时输入正确的验证码或恢复码。", code="invalid_code")
