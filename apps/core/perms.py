"""The permission catalogue and the way views declare which permission they need.

A permission is a code such as ``org.view``. Roles are named sets of these codes; a user holds a
role at an org unit (an assignment) and the permission then covers that unit and its descendants.

Every URL must declare one of: a permission code, ``AUTHENTICATED`` (any logged-in user, the view
shows only the user's own things) or ``PUBLIC`` (no login). ``manage.py check`` fails otherwise.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models

PUBLIC = "__public__"
AUTHENTICATED = "__authenticated__"


class Perm(models.TextChoices):
    """Every permission code the platform knows; roles are built from these."""

    ORG_VIEW = "org.view", "查看组织架构"
    ORG_MANAGE = "org.manage", "管理组织架构"
    USER_VIEW = "user.view", "查看人员账号"
    USER_MANAGE = "user.manage", "管理人员账号与角色分配"
    ROLE_VIEW = "role.view", "查看角色"
    ROLE_MANAGE = "role.manage", "维护角色"
    SECURITY_MANAGE = "security.manage", "安全管理"
    AUDIT_VIEW = "audit.view", "查看审计日志"


def declare(permission: str):
    """Mark a view with the permission it needs, without adding any check (used by wrappers)."""

    def mark(view):
        view.xinyuan_permission = permission
        return view

    return mark


def requires(permission: str):
    """Let a view run only for users who hold ``permission`` somewhere in their active grant.

    Object-level scope is the view's job (``access_*_by_id`` answers 404 outside scope); this
    gate answers "may this user use this page at all": anonymous users go to the login page,
    users without the permission get 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if permission != PUBLIC:
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                if permission != AUTHENTICATED:
                    from apps.core.access import can

                    if not can(request.user, permission):
                        raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.xinyuan_permission = permission
        return wrapped

    return decorator


public = requires(PUBLIC)
login_only = requires(AUTHENTICATED)
