from django.conf import settings
from django.db import models

from .choices import AuditAction, AuditOutcome


class AppendOnlyError(Exception):
    """Raised by every code path that would change or remove an audit entry."""

    def __init__(self, message="审计日志只能追加，不能修改或删除。"):
        super().__init__(message)


class AuditEntryQuerySet(models.QuerySet):
    """Reads as usual; every bulk change or removal raises ``AppendOnlyError``."""

    def update(self, **kwargs):
        raise AppendOnlyError

    def _update(self, values):
        raise AppendOnlyError

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError

    def delete(self):
        raise AppendOnlyError

    def _raw_delete(self, using):
        raise AppendOnlyError

    delete.alters_data = True
    delete.queryset_only = True


class AuditEntry(models.Model):
    """One append-only audit record, chained to its predecessor by SHA-256.

    ``entry_hash`` is the SHA-256 of a canonical JSON of the entry's content and ``prev_hash``
    (see ``apps.audit.chain``); ``seq`` numbers the chain 1, 2, 3… without gaps; ``entry_mac`` seals
    ``seq`` and ``entry_hash`` with a key the database does not hold (``apps.audit.keys``). Only
    ``apps.audit.services`` writes entries. Names, unit and role are copies taken at write time
    so the record stays true after renames. Actor and unit are protected: an account or a unit
    with audit history cannot be deleted (deactivate it instead). On PostgreSQL a trigger also
    refuses UPDATE and DELETE on the table (migration 0002).
    """

    scope_path_field = "unit_path"

    seq = models.BigIntegerField("序号", unique=True, editable=False)
    created_at = models.DateTimeField("时间", db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name="操作人",
    )
    actor_username = models.CharField("操作人登录名", max_length=150, blank=True, editable=False)
    unit = models.ForeignKey(
        "orgs.OrgUnit",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
        verbose_name="当前单位",
    )
    unit_name = models.CharField("单位名称", max_length=100, blank=True, editable=False)
    unit_path = models.CharField(max_length=255, blank=True, db_index=True, editable=False)
    role_code = models.CharField("角色", max_length=40, blank=True, editable=False)
    action = models.CharField("动作", max_length=32, choices=AuditAction.choices, editable=False)
    object_type = models.CharField("对象类型", max_length=100, blank=True, editable=False)
    object_id = models.CharField("对象编号", max_length=64, blank=True, editable=False)
    object_label = models.CharField("对象", max_length=200, blank=True, editable=False)
    outcome = models.CharField("结果", max_length=16, choices=AuditOutcome.choices, editable=False)
    ip_address = models.GenericIPAddressField("IP 地址", null=True, editable=False)
    purpose = models.CharField("用途", max_length=500, blank=True, editable=False)
    changes = models.JSONField("变更内容", default=dict, editable=False)
    prev_hash = models.CharField("前序哈希", max_length=64, editable=False)
    entry_hash = models.CharField("本条哈希", max_length=64, db_index=True, editable=False)
    # HMAC-SHA256 of (seq, entry_hash) under a key kept outside the database (apps.audit.keys): the
    # chain shows an entry was not changed, the seal that it was written by the application.
    mac_key_id = models.CharField("签名密钥", max_length=32, blank=True, editable=False)
    entry_mac = models.CharField("密钥签名", max_length=64, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor_username", "id"], name="audit_actor_username_id"),
            models.Index(fields=["action", "id"], name="audit_action_id"),
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.get_action_display()} {self.actor_username or '系统'}"

    def save(self, **kwargs):
        """Insert a new entry; refuse to write an entry that already exists."""
        if not self._state.adding or self.pk is not None:
            raise AppendOnlyError
        kwargs["force_insert"] = True
        super().save(**kwargs)

    def delete(self, using=None, keep_parents=False):
        raise AppendOnlyError
