"""Seal the entries written before HMACs existed, and record the backfill in the chain itself.

The backfill vouches for those entries only as of the moment it runs: an entry forged before that
moment by someone with database write access is sealed like the rest. The marker entry it appends
("已为第 1–N 条补写密钥签名") states the moment and the last sealed number; ``verify_audit`` reports
it, and docs/audit.md tells operators to keep the head recorded just before the upgrade.

PostgreSQL's append-only trigger is switched off for this migration's own transaction only (the
migration runs as the table owner); the table stays append-only for the application.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BATCH = 2000


def forward(apps, schema_editor):
    from apps.audit.chain import GENESIS, HASHED_FIELDS, compute_hash
    from apps.audit.keys import seal

    entry_model = apps.get_model("audit", "AuditEntry")
    db = schema_editor.connection.alias
    rows = entry_model.objects.using(db).filter(entry_mac="").order_by("seq")
    if not rows.exists():
        return
    postgres = schema_editor.connection.vendor == "postgresql"
    table = schema_editor.quote_name(entry_model._meta.db_table)
    if postgres:
        _alter_trigger(schema_editor, table, "DISABLE")
    keys = settings.AUDIT_HMAC_KEYS
    last_seq = 0
    while True:
        batch = list(rows.filter(seq__gt=last_seq)[:BATCH])
        if not batch:
            break
        for entry in batch:
            entry.mac_key_id, entry.entry_mac = seal(keys, entry.seq, entry.entry_hash)
        entry_model.objects.using(db).bulk_update(batch, ["mac_key_id", "entry_mac"])
        last_seq = batch[-1].seq
    if postgres:
        _alter_trigger(schema_editor, table, "ENABLE")
    tail = entry_model.objects.using(db).order_by("-seq").first()
    marker = entry_model(
        seq=tail.seq + 1,
        created_at=timezone.now(),
        actor_id=None,
        actor_username="",
        unit_id=None,
        unit_name="",
        unit_path="",
        role_code="",
        action="other",
        object_type="audit.auditentry",
        object_id=str(last_seq),
        object_label=f"已为第 1–{last_seq} 条补写密钥签名（此前的条目以本条时间为准）",
        outcome="success",
        ip_address=None,
        purpose="升级：审计日志密钥签名（HMAC）回填",
        changes={},
        prev_hash=tail.entry_hash or GENESIS,
    )
    marker.entry_hash = compute_hash({name: getattr(marker, name) for name in HASHED_FIELDS})
    marker.mac_key_id, marker.entry_mac = seal(keys, marker.seq, marker.entry_hash)
    marker.save(using=db, force_insert=True)


def _alter_trigger(schema_editor, table: str, verb: str) -> None:
    # PostgreSQL refuses ALTER TABLE while deferred foreign-key checks on the table are pending.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    schema_editor.execute(f"ALTER TABLE {table} {verb} TRIGGER audit_entry_append_only")
    schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_entry_hmac")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
