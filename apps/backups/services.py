"""Encrypted database backups and their restore (operator guide: docs/backups.md).

``do_backup`` records an audit event first (so the backup holds it), takes a consistent dump
(SQLite online-backup API / ``pg_dump`` of an exported snapshot), streams it through gzip and
AES-256-GCM into ``xinyuan-<engine>-YYYYMMDD-HHMMSS.xyb`` and writes a manifest next to it.
``do_restore`` checks the manifest's SHA-256 and key fingerprint, decrypts into a temporary file
(written to the target only once the GCM tag has verified), restores it and then verifies the
audit chain and the row counts of the restored database against the manifest.

Files are created with mode 0600 in a 0700 directory; the key is never written anywhere.
"""

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from apps.audit.choices import AuditAction, AuditOutcome
from apps.audit.services import log_event
from apps.audit.verification import VerifyResult, verify_chain

from . import engines
from .crypto import ENGINE_CODES, BackupFileError, file_sha256, read_header, seal, unseal
from .keys import backup_key

MANIFEST_FORMAT = "xinyuan-backup"
FORMAT_VERSION = 1
BACKUP_NAME_RE = re.compile(r"^xinyuan-(?P<engine>[a-z]+)-(?P<stamp>\d{8}-\d{6})\.xyb$")
AUDIT_PURPOSE = "数据库备份"
AUDIT_OBJECT_TYPE = "backups.backup"
MANIFEST_KEYS = ("format", "format_version", "file", "engine", "sha256", "nonce", "key_fingerprint", "row_counts")

Echo = Callable[[str], None]


def _silent(_line: str) -> None:
    return None


@dataclass
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: dict
    deleted: list[Path] = field(default_factory=list)


@dataclass
class RestoreReport:
    manifest: dict
    target: str
    verification: VerifyResult
    head_matches: bool
    row_differences: list[str]
    migration_differences: list[str]

    @property
    def ok(self) -> bool:
        return (
            self.verification.ok and self.head_matches and not self.row_differences and not self.migration_differences
        )


def backup_dir() -> Path:
    return Path(settings.BACKUP_DIR)


def manifest_path_for(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def _create_private(path: Path):
    """Open a new file for writing with mode 0600; refuse if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename), mode 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _dump_sqlite(alias: str, out_dir: Path, target, key: bytes):
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".snapshot-", suffix=".sqlite3")
    os.close(fd)
    try:
        inventory = engines.sqlite_snapshot(alias, Path(tmp))
        with open(tmp, "rb") as source:
            sealed = seal(source, target, key=key, engine="sqlite")
        return inventory, sealed, {}
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(tmp + suffix).unlink(missing_ok=True)


def _dump_postgresql(alias: str, target, key: bytes):
    settings_dict = connections[alias].settings_dict
    with engines.pg_snapshot(settings_dict) as (snapshot, inventory), tempfile.TemporaryFile() as errors:
        process = engines.pg_dump_process(settings_dict, snapshot, errors)
        try:
            sealed = seal(process.stdout, target, key=key, engine="postgresql")
        finally:
            process.stdout.close()
            returncode = process.wait(timeout=engines.TOOL_TIMEOUT)
        if returncode != 0:
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip()[-2000:]
            raise ValidationError(f"pg_dump 失败（退出码 {returncode}）：{detail}", code="pg_dump")
    version = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [engines.pg_tool("pg_dump"), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return inventory, sealed, {"pg_dump": version}


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete the backups (and their manifests) in ``directory`` beyond the newest ``keep``."""
    found = []
    for path in Path(directory).iterdir():
        match = BACKUP_NAME_RE.match(path.name)
        if match and path.is_file():
            found.append((match["stamp"], path.name, path))
    found.sort(reverse=True)
    deleted = []
    for _stamp, _name, path in found[keep:]:
        path.unlink(missing_ok=True)
        manifest_path_for(path).unlink(missing_ok=True)
        deleted.append(path)
    return deleted


def do_backup(*, actor=None, output_dir=None, keep: int | None = None) -> BackupResult:
    """Back up the default database into ``output_dir`` (default ``BACKUP_DIR``); return what was written.

    Raises ImproperlyConfigured when production has no backup key, ValidationError (Chinese
    message) for everything else that stops the backup. A failure after the audit event leaves a
    second event with outcome "failure" and no backup file.
    """
    key = backup_key()
    if keep is not None and keep < 1:
        raise ValidationError("--keep 必须是正整数。", code="keep")
    alias = DEFAULT_DB_ALIAS
    connection = connections[alias]
    engine = connection.vendor
    if engine not in ENGINE_CODES:
        raise ValidationError(f"不支持备份 {engine} 数据库，只支持 SQLite 和 PostgreSQL。", code="engine")
    if connection.in_atomic_block:
        raise ValidationError("备份不能在数据库事务中运行：备份只包含已提交的数据。", code="in_transaction")
    out_dir = Path(output_dir) if output_dir else backup_dir()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = timezone.now()
    name = f"xinyuan-{engine}-{created.strftime('%Y%m%d-%H%M%S')}.xyb"
    path, manifest_path = out_dir / name, manifest_path_for(out_dir / name)
    if path.exists() or manifest_path.exists():
        raise ValidationError(f"同名备份 {name} 已存在，请一秒后重试。", code="exists")

    with transaction.atomic(using=alias):
        log_event(
            actor=actor, action=AuditAction.OTHER, purpose=AUDIT_PURPOSE, object_type=AUDIT_OBJECT_TYPE, label=name
        )
    part = out_dir / f".{name}.part"
    try:
        with _create_private(part) as target:
            if engine == "sqlite":
                inventory, sealed, tools = _dump_sqlite(alias, out_dir, target, key.key)
            else:
                inventory, sealed, tools = _dump_postgresql(alias, target, key.key)
            target.flush()
            os.fsync(target.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        with transaction.atomic(using=alias):
            log_event(
                actor=actor,
                action=AuditAction.OTHER,
                outcome=AuditOutcome.FAILURE,
                purpose=AUDIT_PURPOSE,
                object_type=AUDIT_OBJECT_TYPE,
                label=f"{name}（失败）",
            )
        raise

    database_name = connection.settings_dict.get("NAME") or ""
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": FORMAT_VERSION,
        "file": name,
        "engine": engine,
        "created": created.isoformat(timespec="seconds"),
        "database": str(database_name) if engine == "postgresql" else Path(str(database_name)).name,
        "size": sealed.size,
        "sha256": sealed.sha256,
        "dump_size": sealed.plain_size,
        "compression": "gzip",
        "cipher": "AES-256-GCM",
        "nonce": sealed.nonce,
        "key_id": key.key_id,
        "key_fingerprint": key.fingerprint,
        "development_key": key.development,
        "tools": tools,
        "migrations": inventory.migrations,
        "row_counts": inventory.row_counts,
        "total_rows": sum(inventory.row_counts.values()),
        "audit_head": inventory.audit_head,
    }
    _write_json(manifest_path, manifest)
    deleted = prune_backups(out_dir, keep) if keep else []
    return BackupResult(path=path, manifest_path=manifest_path, manifest=manifest, deleted=deleted)


# --- restore -------------------------------------------------------------------------------------


def load_manifest(backup_path: Path) -> dict:
    """The manifest beside ``backup_path``, checked for the fields a restore relies on."""
    backup_path = Path(backup_path)
    if not backup_path.is_file():
        raise ValidationError(f"找不到备份文件 {backup_path}。", code="missing")
    path = manifest_path_for(backup_path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ValidationError(
            f"找不到备份清单 {path.name}：清单须与备份文件放在同一目录（其中有校验用的 SHA-256）。", code="manifest"
        ) from error
    except (OSError, ValueError) as error:
        raise ValidationError(f"备份清单 {path.name} 无法读取或不是有效的 JSON。", code="manifest") from error
    if (
        not isinstance(manifest, dict)
        or any(key not in manifest for key in MANIFEST_KEYS)
        or not isinstance(manifest["row_counts"], dict)
    ):
        raise ValidationError(f"备份清单 {path.name} 缺少必要的项目。", code="manifest")
    if manifest["format"] != MANIFEST_FORMAT or manifest["format_version"] != FORMAT_VERSION:
        raise ValidationError(
            f"备份清单 {path.name} 的格式版本（{manifest['format_version']}）不受本程序支持。", code="manifest"
        )
    return manifest


def _differences(expected: dict, actual: dict) -> list[str]:
    lines = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            lines.append(f"{table}：备份时 {expected[table]} 行，恢复后缺少此表")
        elif table not in expected:
            lines.append(f"{table}：恢复后多出此表（{actual[table]} 行）")
        elif expected[table] != actual[table]:
            lines.append(f"{table}：备份时 {expected[table]} 行，恢复后 {actual[table]} 行")
    return lines


def _migration_differences(expected: dict, actual: dict) -> list[str]:
    lines = []
    for app in sorted(set(expected) | set(actual)):
        missing = sorted(set(expected.get(app, [])) - set(actual.get(app, [])))
        extra = sorted(set(actual.get(app, [])) - set(expected.get(app, [])))
        if missing:
            lines.append(f"{app}：缺少迁移 {', '.join(missing)}")
        if extra:
            lines.append(f"{app}：多出迁移 {', '.join(extra)}")
    return lines


def _restore_sqlite(backup: Path, target_settings: dict, key: bytes, overwrite: bool, echo: Echo) -> str:
    name = target_settings.get("NAME")
    if engines.is_memory_database(name):
        raise ValidationError(
            "目标是内存数据库，无法恢复；请用 --target-database-url sqlite:////路径/xinyuan.sqlite3 指定目标文件。",
            code="target_memory",
        )
    target = Path(str(name))
    if target.exists() and target.stat().st_size > 0 and not overwrite:
        raise ValidationError(
            f"目标数据库文件 {target} 已存在且不为空；确认要覆盖时加 --yes（先停止网站和后台任务进程）。",
            code="target_not_empty",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.restore-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as sink:
            unseal(backup, sink, key=key)
            sink.flush()
            os.fsync(sink.fileno())
        echo("解密与完整性校验通过。")
        check = engines.sqlite_check(Path(tmp))
        if check != "ok":
            raise ValidationError(f"解密后的数据库文件未通过 SQLite 自检：{check}。未写入目标。", code="corrupt")
        os.chmod(tmp, 0o600)
        # A journal left by the old database would be replayed onto the restored one.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
    except BackupFileError as error:
        raise ValidationError(str(error), code="integrity") from error
    finally:
        Path(tmp).unlink(missing_ok=True)
    echo(f"已写入 {target}。")
    return str(target)


def _restore_postgresql(backup: Path, target_settings: dict, key: bytes, overwrite: bool, echo: Echo) -> str:
    name = target_settings.get("NAME")
    if not name:
        raise ValidationError("未指定目标数据库名。", code="target_url")
    tables = engines.pg_user_table_count(target_settings)
    if tables and not overwrite:
        raise ValidationError(
            f"目标数据库 {name} 中已有 {tables} 张表；确认要用备份覆盖时加 --yes（先停止网站和后台任务进程）。",
            code="target_not_empty",
        )
    engines.pg_tool("pg_restore")
    with tempfile.TemporaryDirectory(prefix="xinyuan-restore-") as work:
        dump = Path(work) / "database.dump"
        try:
            with _create_private(dump) as sink:
                unseal(backup, sink, key=key)
        except BackupFileError as error:
            raise ValidationError(str(error), code="integrity") from error
        echo("解密与完整性校验通过，正在运行 pg_restore……")
        engines.pg_restore(target_settings, dump)
    echo(f"已恢复到数据库 {name}。")
    return str(name)


def do_restore(
    *, actor=None, backup_path, target_url: str | None = None, overwrite: bool = False, echo: Echo = _silent
) -> RestoreReport:
    """Restore ``backup_path`` into the target database and check the result against its manifest.

    Every check that can refuse (manifest, key fingerprint, SHA-256, engine, target state, GCM
    tag, SQLite self-check) runs before the target is touched; a refusal raises ValidationError
    and writes nothing. The returned report says whether the restored audit chain verifies with
    the manifest's head and whether row counts and migrations match. ``actor`` is accepted for
    the service convention; the restore itself is not audited in the restored database, which
    must stay identical to the backup.
    """
    backup_path = Path(backup_path)
    manifest = load_manifest(backup_path)
    key = backup_key()
    echo(
        f"备份 {manifest['file']}：{manifest['engine']} 数据库，制作于 {manifest.get('created', '未知时间')}，"
        f"{len(manifest['row_counts'])} 张表、共 {sum(manifest['row_counts'].values())} 行。"
    )
    if manifest["key_fingerprint"] != key.fingerprint:
        raise ValidationError(
            f"该备份用指纹为 {manifest['key_fingerprint']} 的密钥加密，当前 XINYUAN_BACKUP_KEY 的指纹是 "
            f"{key.fingerprint}：请设置制作备份时所用的备份密钥。未写入任何数据。",
            code="wrong_key",
        )
    if file_sha256(backup_path) != manifest["sha256"]:
        raise ValidationError(
            f"备份文件 {backup_path.name} 的 SHA-256 与清单不符：文件被改动、损坏或未复制完整。未写入任何数据。",
            code="checksum",
        )
    echo("SHA-256 与清单一致。")
    try:
        header = read_header(backup_path)
    except BackupFileError as error:
        raise ValidationError(str(error), code="integrity") from error
    if header.engine != manifest["engine"] or header.nonce.hex() != manifest["nonce"]:
        raise ValidationError(
            "备份文件头与清单不符（数据库类型或随机数不同），文件与清单不是同一份备份。", code="manifest"
        )

    target_settings = engines.target_settings(target_url)
    target_vendor = engines.vendor_of(target_settings)
    if target_vendor != manifest["engine"]:
        raise ValidationError(
            f"这是 {manifest['engine']} 数据库的备份，不能恢复到 {target_vendor} 数据库。", code="engine"
        )
    restore = _restore_sqlite if target_vendor == "sqlite" else _restore_postgresql
    target = restore(backup_path, target_settings, key.key, overwrite, echo)

    head = manifest.get("audit_head")
    with engines.temporary_connection(target_settings) as alias:
        verification = verify_chain(head=head if head and head.get("seq") else None, using=alias)
        with connections[alias].cursor() as cursor:
            inventory = engines.take_inventory(cursor, target_vendor)
    head_matches = head is None or (verification.last_seq, verification.last_hash) == (head["seq"], head["entry_hash"])
    return RestoreReport(
        manifest=manifest,
        target=target,
        verification=verification,
        head_matches=head_matches,
        row_differences=_differences(manifest["row_counts"], inventory.row_counts),
        migration_differences=_migration_differences(manifest.get("migrations") or {}, inventory.migrations),
    )
