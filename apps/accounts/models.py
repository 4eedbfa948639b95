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
    # Kinds of org unit (``apps.orgs.choices.UnitKind``) where the role may be held; empty: any (S-ORG-2).
    unit_kinds = models.JSONField("可任职单位类型", default=list, blank=True)

    class Meta:
        verbose_name = "角色"
        verbose_name_plural = "角色"
        ordering = ["id"]

    def __str__(self):
        return self.name

    def fits_unit(self, unit) -> bool:
        """Whether the role may be held at ``unit`` (a district role never at a community, S-STAFF-2)."""
        return not self.unit_kinds or unit.kind in self.unit_kinds

    @property
    def unit_kinds_label(self) -> str:
        from apps.orgs.choices import UnitKind

        return "、".join(UnitKind(kind).label for kind in self.unit_kinds) or "不限"


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


class ApiToken(models.Model):
    """A personal API key (``Authorization: Token xy_<prefix>_<secret>``), stored only as a SHA-256 digest.

    The secret is shown once when the token is made; ``prefix`` finds the row, ``digest`` proves the
    key. A token ends at ``expires_at``, after ``settings.API_TOKEN_IDLE_DAYS`` unused, when revoked, and
    when the owner's password changes (``password_mark``). Rules: apps/accounts/tokens.py.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name="人员"
    )
    name = models.CharField("名称", max_length=50)
    prefix = models.CharField("前缀", max_length=16, unique=True, editable=False)
    digest = models.CharField("摘要", max_length=64, editable=False)
    password_mark = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("到期时间")
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True)
    revoked_reason = models.CharField("作废原因", max_length=100, blank=True)

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="apitoken_user_revoked")]

    def __str__(self):
        return f"{self.name}（xy_{self.prefix}_…）"


class GrantRequest(models.Model):
    """A request to give a role that reads counselling notes (two-person rule, issue 14).

    The unit manager asks; a security administrator (never the requester, never the account's
    owner) approves or refuses; the assignment is created only on approval. Rules:
    ``apps.accounts.services.do_request_grant`` / ``do_decide_grant_request``.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    STATUS_CHOICES = [(PENDING, "待审批"), (APPROVED, "已批准"), (REFUSED, "已拒绝")]

    scope_path_field = "unit__path"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grant_requests", verbose_name="人员"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+", verbose_name="角色")
    reason = models.CharField("申请理由", max_length=500)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="申请人"
    )
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_reason = models.CharField("审批意见", max_length=500, blank=True)
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="生成的角色分配"
    )

    class Meta:
        verbose_name = "角色授予申请"
        verbose_name_plural = "角色授予申请"
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="grantrequest_status_id")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "role"],
                condition=models.Q(status="pending"),
                name="grantrequest_one_pending",
            ),
        ]

    def __str__(self):
        return f"角色授予申请 #{self.pk}"
