"""DRF glue: every endpoint declares its permission per action, and errors come back in Chinese."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, permissions
from rest_framework.pagination import CursorPagination

from .access import can
from .perms import AUTHENTICATED, PUBLIC

ASSIGNMENT_HEADER = "HTTP_X_XINYUAN_ASSIGNMENT"


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
        header = request.META.get(ASSIGNMENT_HEADER)
        if header and header.isdigit():
            user.active_assignment_id = int(header)
        return perm == AUTHENTICATED or can(user, perm)


class IdCursorPagination(CursorPagination):
    """Cursor pages ordered by id: stable, no COUNT(*)."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 200


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
