from contextvars import ContextVar

from django.db import models

from .crypto import blind_index_candidates
from .fields import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedFieldError,
    EncryptedFieldMixin,
    EncryptedTextField,
    all_blind_index_fields,
)
from .normalizers import normalize_id_number, normalize_phone


def _index_field(model, name: str) -> BlindIndexField:
    for field in all_blind_index_fields(model):
        if name in (field.source, field.name):
            return field
    raise EncryptedFieldError(
        f"{model._meta.label} 的字段 {name!r} 没有盲索引，不能精确查找"
        f"（{model._meta.label}.{name} has no BlindIndexField）"
    )


# bulk_update() writes through update() with CASE expressions it built from plain values itself.
_in_bulk_update: ContextVar[bool] = ContextVar("vault_in_bulk_update", default=False)


def _is_expression(value) -> bool:
    return hasattr(value, "resolve_expression")


class VaultQuerySet(models.QuerySet):
    """A QuerySet that searches encrypted fields by blind index and keeps indexes in step.

    Subclass it when a model needs its own QuerySet (e.g. scoping) as well.
    """

    def search_exact(self, field_name: str, value):
        """Rows whose ``field_name`` (an indexed source field) equals ``value`` after normalising.

        An empty value matches nothing. While XINYUAN_INDEX_KEY_PREVIOUS is set, rows still
        indexed under the old key are found too.
        """
        field = _index_field(self.model, field_name)
        candidates = blind_index_candidates(value, field.normalizer)
        if not candidates:
            return self.none()
        return self.filter(**{f"{field.name}__in": candidates})

    def update(self, **kwargs):
        """Update, refusing expressions on encrypted or indexed fields and refreshing the indexes."""
        if _in_bulk_update.get():
            return super().update(**kwargs)
        sources = {field.source: field for field in all_blind_index_fields(self.model)}
        encrypted = {f.name for f in self.model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)}
        extra = {}
        for name, value in kwargs.items():
            if (name in encrypted or name in sources) and _is_expression(value):
                raise EncryptedFieldError(
                    f"不能用数据库表达式更新加密或带盲索引的字段 {name!r}，请逐条赋值后保存"
                    f"（expressions cannot update the encrypted or indexed field {name!r}）"
                )
            index_field = sources.get(name)
            if index_field is not None and index_field.name not in kwargs:
                candidates = blind_index_candidates(value, index_field.normalizer)
                extra[index_field.name] = candidates[0] if candidates else None
        return super().update(**kwargs, **extra)

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        """bulk_update that also writes the blind index of every listed source field."""
        objs = list(objs)
        names = [field if isinstance(field, str) else field.name for field in fields]
        for index_field in all_blind_index_fields(self.model):
            if index_field.source in names and index_field.name not in names:
                names.append(index_field.name)
                for obj in objs:
                    setattr(obj, index_field.attname, index_field.index_for(obj))
        token = _in_bulk_update.set(True)
        try:
            return super().bulk_update(objs, names, batch_size=batch_size)
        finally:
            _in_bulk_update.reset(token)

    bulk_update.alters_data = True


VaultManager = models.Manager.from_queryset(VaultQuerySet, "VaultManager")


class VaultModel(models.Model):
    """Base of models with blind-indexed fields: ``save(update_fields=…)`` refreshes the indexes.

    Provides ``objects = VaultManager()``; a model that declares its own manager must build it
    from a VaultQuerySet subclass (``manage.py check`` says so otherwise).
    """

    objects = VaultManager()

    class Meta:
        abstract = True

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None:
            update_fields = set(update_fields)
            for field in all_blind_index_fields(type(self)):
                if field.source in update_fields:
                    update_fields.add(field.name)
        super().save(*args, update_fields=update_fields, **kwargs)

    save.alters_data = True


class CanaryRecord(VaultModel):
    """The vault's self-test table; rows live only while a check runs.

    ``manage.py vault_selftest`` writes canary values here, reads them back, searches them by
    blind index and deletes them; the canary tests seed it to prove that no plaintext reaches the
    database file, its dump or the logs. The columns have the shapes client data uses: an
    encrypted name, an ID number and a phone with blind indexes, and a long encrypted note. The
    owner unit is optional so the self-test also runs on an install that has no units yet.
    """

    scope_path_field = "unit__path"

    unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name="所属单位"
    )
    name = EncryptedCharField("姓名", max_length=50)
    id_number = EncryptedCharField("身份证号", max_length=18, blank=True)
    id_number_index = BlindIndexField(source="id_number", normalizer=normalize_id_number)
    phone = EncryptedCharField("电话", max_length=20, blank=True)
    phone_index = BlindIndexField(source="phone", normalizer=normalize_phone)
    note = EncryptedTextField("备注", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "加密自检记录"
        verbose_name_plural = "加密自检记录"

    def __str__(self):
        # Never the plaintext: str() ends up in logs and error pages.
        return f"加密自检记录 #{self.pk}"
