"""Key rotation and the self-test: the two operations an operator runs on the vault.

Rotation is the one place that deliberately spans many transactions: each batch of rows is read
``FOR UPDATE`` (PostgreSQL; SQLite takes the write lock at BEGIN), decrypted with whichever key
wrote it, and written back with the current key in the same transaction, so a concurrent edit
is never overwritten with a stale value and an interrupted run can simply be started again.
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models.functions import Cast

from .crypto import VaultError, key_id_of
from .keys import current_key_id, field_keys, fingerprint, index_keys, using_development_keys
from .models import CanaryRecord
from .selectors import VaultTable, read_raw_rows, vault_tables

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500

Progress = Callable[[str, int, int, int], None]


@dataclass
class TableRotation:
    label: str
    rows: int = 0
    rewritten: int = 0


@dataclass
class RotationReport:
    key_id: str
    reindexed: bool
    tables: list[TableRotation] = field(default_factory=list)

    @property
    def rewritten(self) -> int:
        return sum(table.rewritten for table in self.tables)


def _rotate_table(
    table: VaultTable, *, batch_size: int, reindex: bool, using: str, progress: Progress | None
) -> TableRotation:
    current = current_key_id()
    indexes = table.indexes if reindex else ()
    result = TableRotation(label=table.label)
    if not table.encrypted and not indexes:
        return result
    manager = table.model._base_manager.db_manager(using)
    total = manager.count()
    fields = [f.name for f in table.encrypted] + [f.name for f in indexes]
    attnames = [f.attname for f in table.encrypted]
    after = None
    while True:
        with transaction.atomic(using=using):
            rows = read_raw_rows(table, after_pk=after, limit=batch_size, using=using, for_update=True)
            if not rows:
                break
            changed = []
            for row in rows:
                if row.error is not None:
                    raise row.error
                stale_key = any(token and key_id_of(token) != current for token in row.raw.values())
                new_indexes = {index.attname: row.expected_index(index) for index in indexes}
                stale_index = any(new_indexes[name] != row.stored_index[name] for name in new_indexes)
                if not (stale_key or stale_index):
                    continue
                data = {table.model._meta.pk.attname: row.pk, **{n: row.values[n] for n in attnames}, **new_indexes}
                # from_db takes values in the model's field order, whatever order the names come in.
                names = [f.attname for f in table.model._meta.concrete_fields if f.attname in data]
                changed.append(table.model.from_db(using, names, [data[name] for name in names]))
            if changed:
                # Plain QuerySet.bulk_update: the indexes were computed above, explicitly.
                manager.bulk_update(changed, fields, batch_size=batch_size)
        after = rows[-1].pk
        result.rows += len(rows)
        result.rewritten += len(changed)
        if progress is not None:
            progress(table.label, result.rows, total, result.rewritten)
    if progress is not None and result.rows == 0:
        progress(table.label, 0, total, 0)
    return result


def do_rotate_keys(
    *,
    actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reindex: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    progress: Progress | None = None,
) -> RotationReport:
    """Re-encrypt every encrypted column of every model with the current key.

    Rows already on the current key are left alone, so a second run rewrites nothing. With
    ``reindex`` every blind index is recomputed under the current XINYUAN_INDEX_KEY (after an
    index-key change or a normaliser change). A row that does not decrypt stops the run with a
    DecryptionError naming table, row and column; batches before it stay committed.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    report = RotationReport(key_id=current_key_id(), reindexed=reindex)
    for table in vault_tables():
        report.tables.append(
            _rotate_table(table, batch_size=batch_size, reindex=reindex, using=using, progress=progress)
        )
    logger.info(
        "vault: rotate_keys by %s: %d rows rewritten, current key %s, reindex=%s",
        getattr(actor, "username", actor),
        report.rewritten,
        report.key_id,
        reindex,
    )
    return report


def key_summary() -> list[str]:
    """Lines describing the configured keys by id and fingerprint, never the keys themselves."""
    keys = field_keys()
    current = current_key_id()
    lines = [f"当前加密密钥：{current}（指纹 {fingerprint(keys[current])}）"]
    others = [f"{key_id}（指纹 {fingerprint(key)}）" for key_id, key in keys.items() if key_id != current]
    lines.append(f"仅用于解密的旧密钥：{'、'.join(others) if others else '无'}")
    index = index_keys()
    lines.append(f"盲索引密钥指纹：{fingerprint(index[0])}")
    if len(index) > 1:
        lines.append(f"上一把盲索引密钥指纹：{fingerprint(index[1])}（索引轮换进行中）")
    if using_development_keys():
        lines.append("警告：正在使用由 SECRET_KEY 派生的开发密钥（dev-only），不得用于真实数据。")
    return lines


def do_selftest(*, actor, unit=None) -> list[str]:
    """Write canary values, read them back, find them by blind index, delete them; raise on any fault.

    Runs in one transaction, so a failure leaves no canary row behind. Returns the lines to print.
    The canary values are random per run and never part of the returned lines.
    """
    tag = secrets.token_hex(4).upper()
    canary = {
        "name": f"自检-{tag}",
        "id_number": f"99{secrets.randbelow(10**15):015d}X",
        "phone": f"19{secrets.randbelow(10**9):09d}",
        "note": f"加密自检备注 {tag} {secrets.token_hex(16)}",
    }
    current = current_key_id()
    with transaction.atomic():
        record = CanaryRecord.objects.create(unit=unit, **canary)
        fetched = CanaryRecord.objects.get(pk=record.pk)
        for name, value in canary.items():
            if getattr(fetched, name) != value:
                raise VaultError(f"自检失败：字段 {name} 读回的值与写入的不同。")
        raw = CanaryRecord.objects.filter(pk=record.pk).values_list(
            *(Cast(name, output_field=models.TextField()) for name in canary)
        )[0]
        for name, token in zip(canary, raw, strict=True):
            if key_id_of(token) != current or canary[name] in token:
                raise VaultError(f"自检失败：字段 {name} 在数据库中不是用当前密钥 {current} 加密的密文。")
        for name in ("id_number", "phone"):
            found = list(CanaryRecord.objects.search_exact(name, canary[name]).values_list("pk", flat=True))
            if found != [record.pk]:
                raise VaultError(f"自检失败：按盲索引精确查找 {name} 没有找到自检记录。")
        record.delete()
        if CanaryRecord.objects.filter(pk=record.pk).exists():
            raise VaultError("自检失败：自检记录未能删除。")
    logger.info("vault: selftest by %s passed with key %s", getattr(actor, "username", actor), current)
    return [
        *key_summary(),
        f"写入、读回、盲索引查找、删除自检记录：通过（密钥 {current}）",
    ]
