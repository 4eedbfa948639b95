from django.db import models

from .choices import UnitKind, UnitLevel

PATH_SEPARATOR = "/"


class OrgUnit(models.Model):
    """A node of an org tree: a service unit, an association or one of its bodies.

    ``path`` is the materialised path of ids (``/1/5/42/``), so a subtree is one indexed prefix
    query on SQLite and PostgreSQL alike. ``tenant`` is the root of the tree, the column a Citus
    distribution would shard on. Only ``apps.orgs.services`` writes ``path``, ``depth`` and
    ``tenant``.
    """

    scope_path_field = "path"

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name="上级单位"
    )
    tenant = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="所属体系"
    )
    kind = models.CharField("单位类型", max_length=32, choices=UnitKind.choices)
    level = models.CharField("评估等级", max_length=1, choices=UnitLevel.choices, blank=True)
    code = models.CharField("单位编码", max_length=32, unique=True)
    name = models.CharField("单位名称", max_length=100)
    # unique gives a btree index; on PostgreSQL Django adds a pattern-ops twin for prefix LIKE.
    path = models.CharField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    is_active = models.BooleanField("启用", default=True)
    # Public contact of a service unit: shown on the public booking confirmation and in its SMS.
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=30, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "组织单位"
        verbose_name_plural = "组织单位"
        ordering = ["path"]
        indexes = [
            models.Index(fields=["parent", "name"], name="orgunit_parent_name"),
            models.Index(fields=["tenant", "kind"], name="orgunit_tenant_kind"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="orgunit_name_not_empty"),
            models.CheckConstraint(condition=~models.Q(code=""), name="orgunit_code_not_empty"),
        ]

    def __str__(self):
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids on the path from the root down to the parent."""
        return [int(part) for part in self.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:-1]]

    def is_descendant_of(self, other: "OrgUnit") -> bool:
        return self.path.startswith(other.path) and self.pk != other.pk
