"""Model fields for sensitive data: encrypted text and the blind index that makes it searchable.

Declare sensitive columns on a ``VaultModel`` (``apps.vault.models``)::

    id_number = EncryptedCharField("身份证号", max_length=18, blank=True)
    id_number_index = BlindIndexField(source="id_number", normalizer=normalize_id_number)

and search with ``Client.objects.search_exact("id_number", "330106…")``. The instance attribute
always holds plaintext; only the database (and every log of SQL sent to it) sees ciphertext.
"""

from django.core import checks
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models

from .crypto import VaultError, blind_index, decrypt_text, encrypt_text
from .normalizers import resolve_normalizer


class EncryptedFieldError(FieldError):
    """A query asked an encrypted column for something only plaintext could answer."""


class EncryptedFieldMixin:
    """Encrypt on the way to the database, decrypt on the way back; None and "" stay as they are.

    The column is TEXT whatever the field class, because a ciphertext is longer than its
    plaintext; ``max_length`` of EncryptedCharField limits the plaintext (forms, full_clean).
    ``aad_label`` pins the column name bound into the ciphertext; set it to the old
    ``app.model.field`` when renaming a model or field, otherwise existing values stop decrypting.
    """

    def __init__(self, *args, aad_label: str | None = None, **kwargs):
        self.aad_label = aad_label
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.aad_label:
            kwargs["aad_label"] = self.aad_label
        return name, path, args, kwargs

    def get_internal_type(self):
        return "TextField"

    @property
    def vault_label(self) -> str:
        """The column name bound into every ciphertext: ``app_label.model_name.field_name``."""
        if self.aad_label:
            return self.aad_label
        model = getattr(self, "model", None)
        if model is None:
            raise VaultError("加密字段尚未挂到模型上，无法确定其列名（encrypted field is not attached to a model）")
        return f"{model._meta.label_lower}.{self.name}"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value, self.vault_label)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value, self.vault_label)

    def _refuse(self, lookup_name: str):
        raise EncryptedFieldError(
            f"加密字段 {self.vault_label} 不能按 {lookup_name!r} 查询，只支持 isnull；"
            f"精确查找请用盲索引：search_exact() 或 blind_index()"
            f"（encrypted field {self.vault_label} supports only the isnull lookup; "
            f"use its BlindIndexField for exact search）"
        )

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        self._refuse(lookup_name)

    def get_transform(self, lookup_name):
        self._refuse(lookup_name)

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.primary_key or self.unique or self.db_index:
            errors.append(
                checks.Error(
                    "Encrypted fields cannot be a primary key, unique or indexed: every ciphertext is different.",
                    hint="Add a BlindIndexField(source=..., unique=True) for uniqueness or exact search.",
                    obj=self,
                    id="vault.E001",
                )
            )
        return errors


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """Long sensitive text (counselling notes, addresses), stored as AES-256-GCM ciphertext."""

    description = "加密文本"


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    """Short sensitive text (names, ID numbers, phones); ``max_length`` limits the plaintext."""

    description = "加密短文本"


class BlindIndexField(models.CharField):
    """HMAC-SHA256 (64 hex digits) of the normalised ``source`` field, filled on every save.

    Nullable, not editable, indexed. ``unique=True`` makes the plaintext unique (NULLs, i.e. empty
    sources, may repeat). The model must be a ``VaultModel`` so that ``save(update_fields=…)``,
    ``QuerySet.update()`` and ``bulk_update()`` keep the index in step with its source.
    """

    description = "盲索引"

    def __init__(self, *args, source: str, normalizer=None, **kwargs):
        self.source = source
        self.normalizer = normalizer
        kwargs["max_length"] = 64
        kwargs["null"] = True
        kwargs["blank"] = True
        kwargs["editable"] = False
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for fixed in ("max_length", "null", "blank", "editable"):
            kwargs.pop(fixed, None)
        if self.db_index:
            kwargs.pop("db_index", None)
        else:
            kwargs["db_index"] = False
        kwargs["source"] = self.source
        if self.normalizer is not None:
            kwargs["normalizer"] = self.normalizer
        return name, path, args, kwargs

    def db_type(self, connection):
        """varchar(64) as before, spelt so that PostgreSQL's schema editor adds no ``_like`` index.

        Django gives every indexed varchar column on PostgreSQL a second, ``varchar_pattern_ops`` index
        for ``LIKE``. A blind index is only ever compared for equality, so that index is pure write cost:
        on the client register it was about half of a bulk import's COPY time (docs/benchmarks.md).
        """
        if connection.vendor == "postgresql":
            return f"character varying({self.max_length})"
        return super().db_type(connection)

    @property
    def source_field(self) -> models.Field:
        return self.model._meta.get_field(self.source)

    def index_for(self, instance) -> str | None:
        """The index the instance's current source value should carry."""
        return blind_index(getattr(instance, self.source_field.attname), self.normalizer)

    def pre_save(self, model_instance, add):
        digest = self.index_for(model_instance)
        setattr(model_instance, self.attname, digest)
        return digest

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        try:
            source = self.model._meta.get_field(self.source)
        except FieldDoesNotExist:
            source = None
        if source is None or source is self or not source.concrete:
            errors.append(
                checks.Error(
                    f"BlindIndexField source {self.source!r} is not a concrete field of {self.model.__name__}.",
                    obj=self,
                    id="vault.E002",
                )
            )
        try:
            resolve_normalizer(self.normalizer)
        except ImportError:
            errors.append(
                checks.Error(f"Normalizer {self.normalizer!r} cannot be imported.", obj=self, id="vault.E003")
            )
        from .models import VaultModel, VaultQuerySet

        if not issubclass(self.model, VaultModel):
            errors.append(
                checks.Error(
                    f"{self.model.__name__} has a BlindIndexField but is not a VaultModel.",
                    hint="Inherit apps.vault.models.VaultModel so save(update_fields=...) refreshes the index.",
                    obj=self,
                    id="vault.E004",
                )
            )
        queryset_class = getattr(self.model._default_manager, "_queryset_class", None)
        if queryset_class is None or not issubclass(queryset_class, VaultQuerySet):
            errors.append(
                checks.Error(
                    f"The default manager of {self.model.__name__} does not use VaultQuerySet.",
                    hint="Build the manager from a QuerySet that subclasses apps.vault.models.VaultQuerySet.",
                    obj=self,
                    id="vault.E005",
                )
            )
        return errors


def encrypted_fields(model) -> list[EncryptedFieldMixin]:
    """The encrypted columns a model's own table holds (inherited parent columns excluded)."""
    return [f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedFieldMixin)]


def blind_index_fields(model) -> list[BlindIndexField]:
    """The blind-index columns a model's own table holds."""
    return [f for f in model._meta.local_concrete_fields if isinstance(f, BlindIndexField)]


def all_blind_index_fields(model) -> list[BlindIndexField]:
    """Every blind-index field of the model, including those of multi-table parents."""
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]
