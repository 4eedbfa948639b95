"""Personal API tokens obey the same rules as sessions (issue 14 item 3, X-6, S-PRIN-3).

* A token is ``xy_<prefix>_<secret>``: 12 hex digits to find the row and 256 random bits. Only the
  SHA-256 digest of the whole key is stored; the key is shown once, when it is made.
* Every token has a name and ends at ``expires_at`` (``API_TOKEN_LIFETIME_DAYS``, 90 by default, at
  most that many days), and after ``API_TOKEN_IDLE_DAYS`` without a request. Tokens have no idle
  timeout in minutes like sessions: a script calls at its own pace, and the expiry bounds its life.
* Tokens are revoked when the owner's password is set or changed (any path: a mark of the password
  hash is kept and checked), when the second factor is reset, when the account is deactivated and
  when a role is taken away; also by the owner, or by a security administrator through
  ``check_may_administer``.
* A role that needs two factors (``security.needs_two_factor``) may neither make nor use a token
  until the owner has a confirmed device; the check runs on every request
  (``apps.core.api.XinyuanTokenAuthentication`` → ``security.policy_refusal``).
"""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.audit.services import log_change, snapshot

from .models import ApiToken

TOKEN_RE = re.compile(r"^xy_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
MAX_ACTIVE_TOKENS = 10
TOUCH_EVERY = timedelta(minutes=1)  # write last_used_at at most this often
AUDITED_FIELDS = ("user", "name", "prefix", "created_at", "expires_at", "revoked_at", "revoked_reason")


class TokenRefused(Exception):
    """The presented key is not a usable token; ``str(exc)`` is the Chinese reason."""


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def password_mark(user) -> str:
    """A keyed fingerprint of the user's password hash: it changes whenever the password does."""
    return salted_hmac("xinyuan.accounts.api-token", user.password, algorithm="sha256").hexdigest()


def lifetime_days() -> int:
    return settings.API_TOKEN_LIFETIME_DAYS


def token_state(token: ApiToken, now=None) -> str:
    """``active``, ``revoked``, ``expired`` or ``idle`` (unused for longer than allowed)."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    if (token.last_used_at or token.created_at) + timedelta(days=settings.API_TOKEN_IDLE_DAYS) <= now:
        return "idle"
    if not hmac.compare_digest(token.password_mark, password_mark(token.user)):
        return "revoked"
    return "active"


STATE_LABELS = {"active": "有效", "revoked": "已作废", "expired": "已过期", "idle": "长期未用已失效"}


def tokens_of(user) -> list[ApiToken]:
    """The user's tokens, newest first, each with ``state`` and ``state_label`` set."""
    now = timezone.now()
    rows = list(ApiToken.objects.filter(user=user).select_related("user").order_by("-id")[:50])
    for token in rows:
        token.state = token_state(token, now)
        token.state_label = STATE_LABELS[token.state]
    return rows


def check_token_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("请填写令牌名称，例如调用它的系统。", code="required")
    if len(name) > 50:
        raise ValidationError("令牌名称不能超过 50 个字符。", code="max_length")
    return name


def check_may_hold_token(user) -> None:
    """A role that needs two factors gets a token only after confirming a device."""
    from .security import has_device, needs_two_factor

    if not user.is_active:
        raise ValidationError("账号已停用。", code="inactive")
    if needs_two_factor(user) and not has_device(user):
        raise ValidationError("您的岗位须使用双因素认证，请先绑定身份验证器，再生成 API 令牌。", code="two_factor")


@transaction.atomic
def do_create_token(*, actor, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Make a token for ``actor`` itself; return it and the key, which is never shown again."""
    name = check_token_name(name)
    limit = lifetime_days()
    days = limit if days is None else days
    if not isinstance(days, int) or not 1 <= days <= limit:
        raise ValidationError(f"有效期须为 1–{limit} 天。", code="days")
    check_may_hold_token(actor)
    now = timezone.now()
    active = ApiToken.objects.select_for_update().filter(user=actor, revoked_at__isnull=True, expires_at__gt=now)
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(f"有效令牌最多 {MAX_ACTIVE_TOKENS} 个，请先作废不用的令牌。", code="too_many")
    prefix = secrets.token_hex(6)
    raw = f"xy_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        prefix=prefix,
        digest=digest_of(raw),
        password_mark=password_mark(actor),
        expires_at=now + timedelta(days=days),
    )
    log_change(actor, token, {}, snapshot(token, fields=AUDITED_FIELDS), purpose="生成 API 令牌")
    return token, raw


def _revoke(tokens, *, actor, reason: str) -> int:
    now = timezone.now()
    for token in tokens:
        before = snapshot(token, fields=AUDITED_FIELDS)
        token.revoked_at, token.revoked_reason = now, reason[:100]
        token.save(update_fields=["revoked_at", "revoked_reason"])
        log_change(actor, token, before, snapshot(token, fields=AUDITED_FIELDS), purpose=f"作废 API 令牌：{reason}")
    return len(tokens)


@transaction.atomic
def revoke_all_tokens(user, *, actor=None, reason: str) -> int:
    """Revoke every live token of ``user`` (password/2FA reset, deactivation, role removal)."""
    tokens = list(ApiToken.objects.select_for_update().filter(user_id=user.pk, revoked_at__isnull=True))
    return _revoke(tokens, actor=actor, reason=reason)


@transaction.atomic
def do_revoke_token(*, actor, token: ApiToken) -> None:
    """The owner revokes one of their tokens; anyone else goes through ``do_revoke_user_tokens``."""
    if token.user_id != actor.pk:
        raise ValidationError("只能作废自己的令牌。", code="forbidden")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ValidationError("该令牌已作废。", code="unchanged")
    _revoke([token], actor=actor, reason="本人作废")


@transaction.atomic
def do_revoke_user_tokens(*, actor, user) -> int:
    """A security administrator revokes every token of another account (lost laptop, leaked key).

    The separation of the administrators is the guard's (``services.check_may_administer``): nobody
    revokes the tokens of an account they may not administer.
    """
    from apps.core.access import can
    from apps.core.perms import Perm

    from .services import check_may_administer

    if actor is None or not can(actor, Perm.SECURITY_MANAGE):
        raise ValidationError("您无权作废他人的 API 令牌。", code="forbidden")
    check_may_administer(actor, user)
    count = revoke_all_tokens(user, actor=actor, reason=f"由{actor.full_name or actor.username}作废")
    if count == 0:
        raise ValidationError("该账号没有有效的 API 令牌。", code="unchanged")
    return count


def authenticate_key(raw: str) -> ApiToken:
    """The live token for key ``raw`` (with ``user`` loaded), or ``TokenRefused``."""
    match = TOKEN_RE.match(raw or "")
    if match is None:
        raise TokenRefused("令牌无效。")
    token = ApiToken.objects.select_related("user").filter(prefix=match.group(1)).first()
    # Compare digests even when no row matched, so timing tells nothing about which prefixes exist.
    expected = token.digest if token is not None else "0" * 64
    if not hmac.compare_digest(expected, digest_of(raw)) or token is None:
        raise TokenRefused("令牌无效。")
    if not token.user.is_active:
        raise TokenRefused("账号已停用。")
    now = timezone.now()
    state = token_state(token, now)
    if state == "revoked":
        raise TokenRefused("令牌已作废。")
    if state == "expired":
        raise TokenRefused("令牌已过期，请在个人设置中重新生成。")
    if state == "idle":
        raise TokenRefused(f"令牌已超过 {settings.API_TOKEN_IDLE_DAYS} 天未使用而失效，请重新生成。")
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
