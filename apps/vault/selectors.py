"""Reads over every encrypted table: which models hold sensitive columns, raw ciphertexts, key usage.

These read ciphertext without the field's automatic decryption (a CAST to plain text), so a row
that does not decrypt is reported with its primary key instead of failing the whole query.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.db.models.functions import Cast

from .crypto import DecryptionError, blind_index, decrypt_text, key_id_of
from .fields import BlindIndexField, EncryptedFieldMixin, blind_index_fields, encrypted_fields


@dataclass(frozen=True)
class VaultTable:
    """One model's table with its encrypted columns and blind indexes."""

    model: type[models.Model]
    encrypted: tuple[EncryptedFieldMixin, ...]
    indexes: tuple[BlindIndexField, ...]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def plain_sources(self) -> tuple[str, ...]:
        """Attnames of index sources that are not encrypted columns of this table."""
        encrypted = {f.attname for f in self.encrypted}
        return tuple(
            dict.fromkeys(f.source_field.attname for f in self.indexes if f.source_field.attname not in encrypted)
        )


@dataclass
class RawRow:
    """One row as stored: ciphertexts, their plaintexts, the index sources and stored indexes."""

    pk: object
    raw: dict[str, str | None]
    values: dict[str, object]
    stored_index: dict[str, str | None]
    error: DecryptionError | None = None

    def expected_index(self, index: BlindIndexField) -> str | None:
        return blind_index(self.values.get(index.source_field.attname), index.normalizer)


def vault_tables() -> list[VaultTable]:
    """Every concrete, managed model whose own table has encrypted or blind-index columns."""
    tables = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        encrypted, indexes = encrypted_fields(model), blind_index_fields(model)
        if encrypted or indexes:
            tables.append(VaultTable(model, tuple(encrypted), tuple(indexes)))
    return sorted(tables, key=lambda table: table.label)


def read_raw_rows(table: VaultTable, *, after_pk=None, limit: int, using: str = "default", for_update: bool = False):
    """Read up to ``limit`` rows after ``after_pk`` in primary-key order, decrypting by hand.

    A row that does not decrypt comes back with ``error`` set (the message names table, row and
    column); its ``values`` then lack that column.
    """
    queryset = table.model._base_manager.using(using).order_by("pk")
    if for_update:
        queryset = queryset.select_for_update()
    if after_pk is not None:
        queryset = queryset.filter(pk__gt=after_pk)
    columns = [
        "pk",
        *(Cast(f.attname, output_field=models.TextField()) for f in table.encrypted),
        *table.plain_sources,
        *(f.attname for f in table.indexes),
    ]
    rows = []
    encrypted_count, source_count = len(table.encrypted), len(table.plain_sources)
    for record in queryset.values_list(*columns)[:limit].iterator(chunk_size=limit):
        pk, rest = record[0], record[1:]
        raw_values = rest[:encrypted_count]
        source_values = rest[encrypted_count : encrypted_count + source_count]
        index_values = rest[encrypted_count + source_count :]
        row = RawRow(
            pk=pk,
            raw={f.attname: value for f, value in zip(table.encrypted, raw_values, strict=True)},
            values=dict(zip(table.plain_sources, source_values, strict=True)),
            stored_index={f.attname: value for f, value in zip(table.indexes, index_values, strict=True)},
        )
        for f, token in zip(table.encrypted, raw_values, strict=True):
            if token is None or token == "":
                row.values[f.attname] = token
                continue
            try:
                row.values[f.attname] = decrypt_text(token, f.vault_label)
            except DecryptionError as exc:
                row.error = DecryptionError(f"{table.label} #{pk}：{exc}")
                break
        rows.append(row)
    return rows


@dataclass
class TableScan:
    """What ``vault_selftest --scan`` reports for one table."""

    label: str
    rows: int = 0
    key_ids: dict[str, Counter] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    stale_indexes: int = 0


def scan_table(table: VaultTable, *, batch_size: int = 1000, using: str = "default") -> TableScan:
    """Count rows per key id for each encrypted column, unreadable rows and out-of-date indexes."""
    scan = TableScan(label=table.label, key_ids={f.vault_label: Counter() for f in table.encrypted})
    after = None
    while rows := read_raw_rows(table, after_pk=after, limit=batch_size, using=using):
        for row in rows:
            scan.rows += 1
            for f in table.encrypted:
                token = row.raw[f.attname]
                if token:
                    scan.key_ids[f.vault_label][key_id_of(token) or "?"] += 1
            if row.error is not None:
                scan.unreadable.append(str(row.error))
            elif any(row.expected_index(index) != row.stored_index[index.attname] for index in table.indexes):
                scan.stale_indexes += 1
        after = rows[-1].pk
    return scan
