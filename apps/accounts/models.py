from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A staff or member login. Belongs to one home unit; what it may do comes from assignments.

    ``unit`` decides who may manage the account: managers see and change accounts whose home
    unit lies in their subtree. Django's superuser flag grants nothing in Xinyuan.
    """

    scope_path_field = "unit__path"

    first_name = None
    last_name = None
    full_name = models.CharField("姓名", max_length=50)
    mobile = models.CharField("手机号码", max_length=20, blank=True)
    unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, on_delete=models.PROTECT, related_name="users", verbose_name="所属单位"
    )
    deactivated_at = models.DateTimeField("停用时间", null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = "人员账号"
        verbose_name_plural = "人员账号"
        indexes = [models.Index(fields=["unit", "id"], name="user_unit_id")]

    def __str__(self):
        return f"{self.full_name}（{self.username}）"

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name


class Role(models.Model):
    """A named set of permission codes (see ``apps.core.perms.Perm``).

    Built-in roles are defined in ``apps.accounts.roles`` and re-synced after every migrate;
    ``exclusive_group`` marks the three administrator roles no account may combine.
    """

    code = models.SlugField("角色编码", max_length=40, unique=True)
    name = models.CharField("角色名称", max_length=40, unique=True)
    description = models.CharField("说明", max_length=200, blank=True)
    permissions = models.JSONField("权限", default=list)
    builtin = models.BooleanField("内置", default=False)
    exclusive_group = models.CharField(max_length=20, blank=True, editable=False)

    class Meta:
        verbose_name = "角色"
        verbose_name_plural = "角色"
        ordering = ["id"]

    def __str__(self):
        return self.name


class Assignment(models.Model):
    """A user holding a role at an org unit; the permission covers the unit and its descendants."""

    scope_path_field = "unit__path"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments", verbose_name="人员"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="assignments", verbose_name="单位")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments", verbose_name="角色")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="分配人"
    )

    class Meta:
        verbose_name = "角色分配"
        verbose_name_plural = "角色分配"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="assignment_unique"),
        ]

    def __str__(self):
        return f"{self.unit} · {self.role}"
