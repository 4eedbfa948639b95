"""Backups restore into a fresh database identically; tampered files, wrong keys and a missing
production key are refused before anything is written. Runs on SQLite and on PostgreSQL
(whichever DATABASE_URL selects)."""

import copy
import json
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, connections, models
from django.db.models.functions import Cast
from django.db.utils import ConnectionDoesNotExist, load_backend

from apps.audit.choices import AuditAction
from apps.audit.models import AuditEntry
from apps.audit.services import log_read
from apps.audit.verification import verify_chain
from apps.backups.crypto import file_sha256
from apps.backups.keys import fingerprint
from apps.orgs.services import do_rename_unit
from apps.vault.models import CanaryRecord
from conftest import make_user
from tests.production_env import production_env

from .conftest import BACKUP_KEY, FIELD_KEY, OTHER_BACKUP_KEY, b64

RECORDS = [
    {"name": "备份测试甲", "id_number": "11010519491231002X", "phone": "13800138000", "note": "第一次来访，情绪低落。"},
    {"name": "备份测试乙", "id_number": "330106199001011234", "phone": "13912345678", "note": ""},
    {"name": "备份测试丙", "id_number": "", "phone": "021-62345678", "note": "家属陪同。" * 50},
    {"name": "备份测试丁", "id_number": "440301198512120017", "phone": "", "note": "转介至区中心。"},
]


def seed(tree):
    """Users, encrypted records and audit entries written through the ordinary services."""
    admin = make_user("backup_admin", tree.district, "district_admin")
    counsellor = make_user("backup_counsellor", tree.c1, "counsellor")
    make_user("backup_plain", tree.c2)
    records = [CanaryRecord.objects.create(unit=tree.c1, **values) for values in RECORDS]
    do_rename_unit(actor=admin, unit=tree.c3, name="三社区室（更名）", code="T-C3")
    for record in records[:2]:
        log_read(counsellor, record, purpose="个案督导")
    return records


def run_backup(output_dir: Path, **options) -> tuple[Path, dict, str]:
    out = StringIO()
    call_command("backup", output_dir=str(output_dir), stdout=out, **options)
    (path,) = sorted(output_dir.glob("xinyuan-*.xyb"))
    manifest = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return path, manifest, out.getvalue()


def run_restore(path: Path, url: str, **options) -> str:
    out = StringIO()
    call_command("restore", str(path), target_database_url=url, stdout=out, stderr=out, **options)
    return out.getvalue()


def row_counts(conn) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cursor:
        for table in conn.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def open_restored(fresh_database):
    """The restored database as a second connection alias, "restored".

    Django 5.2's test isolation refuses aliases that are in settings.DATABASES but not declared by
    the test, so the wrapper is built from a copy of the settings and registered at run time only.
    """
    settings_dict = copy.deepcopy(fresh_database.settings_dict)
    connections["restored"] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "restored")
    return connections["restored"]


def close_restored():
    try:
        restored = connections["restored"]
    except ConnectionDoesNotExist:
        return
    restored.close()
    del connections["restored"]


@pytest.mark.django_db(transaction=True)
def test_restore_into_fresh_database_is_identical(tree, keys, tmp_path, fresh_database):
    """X-4: a backup restored into a fresh database has identical row counts, decrypted records,
    blind-index search and audit chain (same head); the files are private and the manifest is true."""
    records = seed(tree)
    path, manifest, output = run_backup(tmp_path / "backups")

    assert "备份完成" in output and "开发密钥" not in output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_suffix(".json").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.name.startswith(f"xinyuan-{connection.vendor}-")
    # The backup event was written before the dump, so the backup (and its manifest) holds it.
    last = AuditEntry.objects.order_by("-seq").first()
    assert (last.action, last.purpose, last.object_label) == (AuditAction.OTHER, "数据库备份", path.name)
    assert manifest["audit_head"] == {"seq": last.seq, "entry_hash": last.entry_hash}
    assert manifest["row_counts"] == row_counts(connection)
    assert manifest["sha256"] == file_sha256(path)
    assert manifest["key_fingerprint"] == fingerprint(BACKUP_KEY) and b64(BACKUP_KEY) not in json.dumps(manifest)
    assert manifest["migrations"]["vault"] == ["0001_initial", "0002_drop_blind_index_like_indexes"]

    output = run_restore(path, fresh_database.url)
    assert "审计日志校验通过" in output and "各表行数与备份清单一致" in output

    try:
        restored = open_restored(fresh_database)
        assert row_counts(restored) == row_counts(connection)
        fields = ("pk", "unit_id", "name", "id_number", "phone", "note")
        assert list(CanaryRecord.objects.using("restored").order_by("pk").values_list(*fields)) == [
            (r.pk, r.unit_id, r.name, r.id_number, r.phone, r.note) for r in records
        ]
        stored = CanaryRecord.objects.using("restored").values_list(Cast("name", models.TextField()), flat=True)
        assert all(value.startswith("v1:k1:") for value in stored)
        found = CanaryRecord.objects.using("restored").search_exact("id_number", "330106199001011234").get()
        assert found.pk == records[1].pk
        assert (
            CanaryRecord.objects.using("restored").search_exact("phone", "+86 138 0013 8000").get().pk == records[0].pk
        )

        original, copy_ = verify_chain(), verify_chain(using="restored")
        assert original.ok and copy_.ok
        assert (copy_.count, copy_.last_seq, copy_.last_hash) == (original.count, original.last_seq, original.last_hash)
        hashes = ("seq", "prev_hash", "entry_hash", "purpose")
        assert list(AuditEntry.objects.using("restored").order_by("seq").values_list(*hashes)) == list(
            AuditEntry.objects.order_by("seq").values_list(*hashes)
        )
    finally:
        close_restored()


@pytest.mark.django_db(transaction=True)
def test_tampered_file_or_wrong_key_is_refused_and_nothing_written(tree, keys, tmp_path, fresh_database, settings):
    """X-4: a flipped byte fails the manifest's SHA-256 and, with a forged manifest, the GCM tag;
    another backup key fails the fingerprint and, with a forged fingerprint, the GCM tag. Every
    time restore refuses with a clear message and writes nothing."""
    seed(tree)
    path, manifest, _ = run_backup(tmp_path / "backups")
    manifest_path = path.with_suffix(".json")
    original = path.read_bytes()

    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="SHA-256 与清单不符"):
        run_restore(path, fresh_database.url)
    assert fresh_database.is_untouched()

    forged = {**manifest, "sha256": file_sha256(path)}  # someone who can edit the manifest too
    manifest_path.write_text(json.dumps(forged), encoding="utf-8")
    with pytest.raises(CommandError, match="未通过完整性校验.*未写入任何数据"):
        run_restore(path, fresh_database.url)
    assert fresh_database.is_untouched()

    path.write_bytes(original)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    settings.BACKUP_KEY = b64(OTHER_BACKUP_KEY)
    with pytest.raises(CommandError, match="请设置制作备份时所用的备份密钥"):
        run_restore(path, fresh_database.url)
    assert fresh_database.is_untouched()

    forged = {**manifest, "key_fingerprint": fingerprint(OTHER_BACKUP_KEY)}
    manifest_path.write_text(json.dumps(forged), encoding="utf-8")
    with pytest.raises(CommandError, match="未通过完整性校验"):
        run_restore(path, fresh_database.url)
    assert fresh_database.is_untouched()


@pytest.mark.django_db(transaction=True)
def test_overwrite_needs_yes_and_differences_are_reported(tree, keys, tmp_path, fresh_database):
    """X-4: a target that already holds data is only overwritten with --yes; when the restored
    database does not match the manifest, restore names the tables that differ and exits non-zero."""
    seed(tree)
    path, manifest, _ = run_backup(tmp_path / "backups")
    output = run_restore(path, fresh_database.url)
    assert "恢复完成" in output and f"末条第 {manifest['audit_head']['seq']} 条" in output

    with pytest.raises(CommandError, match="加 --yes"):
        run_restore(path, fresh_database.url)
    if connection.vendor == "sqlite":
        # pytest's SQLite database lives in memory: there is no file to restore onto by default.
        with pytest.raises(CommandError, match="内存数据库"):
            call_command("restore", str(path), yes=True, stdout=StringIO())
    else:
        # The configured database has tables: refused without --yes.
        with pytest.raises(CommandError, match="已有 .* 张表"):
            call_command("restore", str(path), stdout=StringIO())

    manifest["row_counts"]["vault_canaryrecord"] += 1
    path.with_suffix(".json").write_text(json.dumps(manifest), encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError, match="行数与备份不一致"):
        call_command("restore", str(path), target_database_url=fresh_database.url, yes=True, stdout=out, stderr=out)
    assert f"vault_canaryrecord：备份时 {len(RECORDS) + 1} 行，恢复后 {len(RECORDS)} 行" in out.getvalue()
    assert "审计日志校验通过" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_keep_deletes_older_backups(tree, keys, tmp_path):
    """X-4: --keep N leaves the newest N backups (with their manifests) and nothing else of ours."""
    directory = tmp_path / "backups"
    directory.mkdir()
    old = [directory / f"xinyuan-{connection.vendor}-2020010{day}-000000.xyb" for day in (1, 2, 3)]
    for path in old:
        path.write_bytes(b"old")
        path.with_suffix(".json").write_text("{}")
    (directory / "readme.txt").write_text("operator notes")

    out = StringIO()
    call_command("backup", output_dir=str(directory), keep=2, stdout=out)

    names = sorted(p.name for p in directory.iterdir())
    old_names = {path.name for path in old}
    # Compare names, not a "-2020" substring: a backup made at 20:20 UTC is named "…-2020xx.xyb".
    newest = [n for n in names if n.endswith(".xyb") and n not in old_names]
    assert len(newest) == 1
    assert names == sorted(
        [newest[0], newest[0].replace(".xyb", ".json"), old[2].name, old[2].with_suffix(".json").name, "readme.txt"]
    )
    assert "已删除较早的备份 2 份" in out.getvalue()
    with pytest.raises(CommandError, match="--keep 必须是正整数"):
        call_command("backup", output_dir=str(directory), keep=0, stdout=StringIO())


@pytest.mark.django_db
def test_production_without_backup_key_refuses(tmp_path, settings):
    """X-4: in production backup and restore refuse without XINYUAN_BACKUP_KEY (ImproperlyConfigured
    from the command, before anything is written); the vault's key may not double as the backup key."""
    settings.PRODUCTION = True
    settings.BACKUP_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="XINYUAN_BACKUP_KEY"):
        call_command("backup", output_dir=str(tmp_path / "refused"), stdout=StringIO())
    assert not (tmp_path / "refused").exists()
    assert not AuditEntry.objects.exists()

    backup = tmp_path / "xinyuan-sqlite-20260101-000000.xyb"
    backup.write_bytes(b"XYB1S" + bytes(40))
    manifest = {key: "" for key in ("file", "engine", "sha256", "nonce", "key_fingerprint")}
    manifest.update(format="xinyuan-backup", format_version=1, row_counts={})
    backup.with_suffix(".json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match="XINYUAN_BACKUP_KEY"):
        call_command("restore", str(backup), target_database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert not (tmp_path / "x.sqlite3").exists()

    settings.VAULT_FIELD_KEYS = {"k1": FIELD_KEY}
    settings.BACKUP_KEY = b64(FIELD_KEY)
    with pytest.raises(ImproperlyConfigured, match="不得与敏感字段加密密钥"):
        call_command("backup", output_dir=str(tmp_path / "refused"), stdout=StringIO())


def test_production_settings_load_without_backup_key(tmp_path):
    """X-4: a production server without XINYUAN_BACKUP_KEY still loads its settings (the web app
    starts); it is ``manage.py backup`` that refuses, with ImproperlyConfigured from the command."""
    env = {k: v for k, v in os.environ.items() if k != "XINYUAN_BACKUP_KEY"}
    env.update(production_env(tmp_path / "var"))
    refused = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", "backup", "--output-dir", str(tmp_path / "out")],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    # Raised by the backup command's key lookup, i.e. after settings and apps loaded fine.
    assert "apps/backups/keys.py" in refused.stderr, refused.stderr
    assert "ImproperlyConfigured: 生产模式必须设置备份加密密钥 XINYUAN_BACKUP_KEY" in refused.stderr
    assert not (tmp_path / "out").exists()
