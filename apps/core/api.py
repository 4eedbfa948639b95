"""DRF glue: every endpoint declares its permission per action, and errors come back in Chinese."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, filters, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import CursorPagination

from .access import can, user_assignments
from .perms import AUTHENTICATED, PUBLIC
from .querystring import query_integer_errors

ASSIGNMENT_HEADER = "HTTP_X_XINYUAN_ASSIGNMENT"
TOKEN_KEYWORD = "Token"  # noqa: S105 - the Authorization scheme, not a secret


class XinyuanTokenAuthentication(BaseAuthentication):
    """``Authorization: Token xy_…`` with a personal token (apps.accounts.tokens), under the session rules.

    The key is checked against its stored digest, expiry, idle days, revocation and the owner's
    password; then ``security.policy_refusal`` — the rule set the session middleware applies —
    refuses a role that needs two factors until the owner has a confirmed device (issue 14 item 3).
    """

    keyword = TOKEN_KEYWORD

    def authenticate(self, request):
        from apps.accounts.security import has_device, policy_refusal
        from apps.accounts.tokens import TokenRefused, authenticate_key

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("令牌格式不正确：应为“Token <令牌>”。")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("令牌无效。") from None
        try:
            token = authenticate_key(raw)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(str(refused)) from None
        user = token.user
        refusal = policy_refusal(user, session=None, second_factor_done=has_device(user))
        if refusal is not None:
            raise exceptions.PermissionDenied(refusal.message)
        return (user, token)

    def authenticate_header(self, request):
        return self.keyword


class XinyuanTokenScheme(OpenApiAuthenticationExtension):
    """Describe the personal token in the OpenAPI schema."""

    target_class = "apps.core.api.XinyuanTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "个人 API 令牌：`Token xy_…`（在“个人设置 → API 令牌”中生成，只显示一次）。",
        }


def choose_assignment(request, user) -> None:
    """Act through the assignment named by ``X-Xinyuan-Assignment``; 403 if it is not the caller's.

    A missing header keeps the session's (or the first) assignment; an invalid, foreign, revoked or
    inactive one is refused, never silently replaced by another assignment.
    """
    header = request.META.get(ASSIGNMENT_HEADER)
    if header is None:
        return
    header = header.strip()
    wanted = int(header) if header.isascii() and header.isdigit() and len(header) <= 18 else None
    if wanted is None or wanted not in {a.pk for a in user_assignments(user)}:
        raise exceptions.PermissionDenied("X-Xinyuan-Assignment 指定的岗位不是您的有效岗位。")
    user.active_assignment_id = wanted


def required_permission(view, request) -> str | None:
    """The permission declared for this request's action (viewsets) or method (plain API views)."""
    declared = getattr(view, "permission_map", None) or {}
    key = getattr(view, "action", None) or request.method.lower()
    if key == "metadata" or request.method == "OPTIONS":
        return declared.get("metadata", AUTHENTICATED)
    return declared.get(key)


class DeclaredPermission(permissions.BasePermission):
    """Allow a request only if the view declares a permission for it and the user holds it.

    A token client chooses its active assignment with the ``X-Xinyuan-Assignment`` header.
    """

    message = "您没有执行此操作的权限。"

    def has_permission(self, request, view):
        perm = required_permission(view, request)
        if perm is None:
            return False
        if perm == PUBLIC:
            return True
        user = request.user
        if not user or not user.is_authenticated:
            return False
        choose_assignment(request, user)
        return perm == AUTHENTICATED or can(user, perm)


class IdCursorPagination(CursorPagination):
    """Cursor pages ordered by id: stable, no COUNT(*)."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 200


# --- query-string integers (issue 14 item 7) ---
class QueryIntegerFilterBackend(filters.BaseFilterBackend):
    """First filter backend of every list: refuse out-of-range integers in the query string with a 400.

    Runs before django-filter and before the queryset a view built from ``query_params`` is
    evaluated, so a hand-written ``filter(client_id=int(value))`` never sees such a value.
    """

    def filter_queryset(self, request, queryset, view):
        errors = query_integer_errors(request.query_params)
        if errors:
            raise exceptions.ValidationError(errors)
        return queryset


def exception_handler(exc, context):
    """Turn Django validation errors from services into 400s with their Chinese messages."""
    from rest_framework.views import exception_handler as drf_exception_handler  # avoids an import cycle

    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("未找到。")
    return drf_exception_handler(exc, context)


def validated(serializer_class, request) -> dict:
    """Validate ``request.data`` with ``serializer_class``; 400 with Chinese messages otherwise."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
