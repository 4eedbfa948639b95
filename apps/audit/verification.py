"""Verifying the chain, and the head record kept outside the database.

``verify_chain`` walks the log in ``seq`` order, in keyset batches streamed with ``.iterator()``,
and stops at the first problem it finds:

* a gap in ``seq`` → entries were deleted;
* an entry that no longer hashes to its ``entry_hash`` → it was modified;
* an entry whose ``prev_hash`` is not the previous entry's hash → the link is broken. If it
  points at the entry before the previous one, the previous entry was inserted; if it points at
  an entry found elsewhere in the log, entries were reordered; otherwise the previous entry was
  rewritten or entries between were deleted and the rest renumbered.

* an entry whose seal (``entry_mac``, an HMAC under a key the database does not hold, see
  ``apps.audit.keys``) is missing, wrong or under an unconfigured key → it was not written by the
  application: someone with database write access appended or re-hashed it.

A chain that is only *consistent* can still have been cut short or rewritten from some point on
with fresh hashes. The head file (``AUDIT_HEAD_FILE``, written by ``manage.py verify_audit``
after every clean run) remembers the last verified ``seq`` and hash outside the database; a
later run reports a log whose tail is shorter than the recorded head (truncated) or whose entry
at the recorded ``seq`` has another hash (rewritten). The head log (``AUDIT_HEAD_LOG``) is the
append-only twin: one line per ``verify_audit`` run and per periodic task run, meant to be shipped
to a second machine; its newest good line counts as a head too.
"""

import datetime as dt
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .chain import GENESIS, HASHED_FIELDS, compute_hash
from .choices import TamperKind
from .keys import check_seal
from .models import AuditEntry

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
ROW_FIELDS = ("id", "seq", "entry_hash", "mac_key_id", "entry_mac", *HASHED_FIELDS)
head_logger = logging.getLogger("xinyuan.audit.head")


class HeadFileError(Exception):
    """The head file exists but cannot be read or does not hold a head record."""


@dataclass(frozen=True)
class Finding:
    kind: str
    seq: int | None
    message: str

    @property
    def kind_label(self) -> str:
        return TamperKind(self.kind).label


@dataclass
class VerifyResult:
    count: int = 0
    last_seq: int = 0
    last_id: int | None = None
    last_hash: str = GENESIS
    finding: Finding | None = None
    head: dict | None = None
    head_file: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.finding is None


def _gap(expected: int, found: int) -> Finding:
    if found < expected:
        return Finding(TamperKind.INSERTED, found, f"出现序号为 {found} 的多余条目（序号应从 {expected} 起）。")
    missing = f"第 {expected} 条" if found == expected + 1 else f"第 {expected}–{found - 1} 条"
    return Finding(TamperKind.DELETED, expected, f"{missing}缺失：条目被删除。")


def _broken_link(row: dict, before_previous: str | None, using) -> Finding:
    seq = row["seq"]
    if before_previous is not None and row["prev_hash"] == before_previous:
        return Finding(
            TamperKind.INSERTED,
            seq - 1,
            f"第 {seq - 1} 条不在原链中：第 {seq} 条直接接在第 {seq - 2} 条之后，说明第 {seq - 1} 条是被插入的。",
        )
    if AuditEntry.objects.using(using).filter(entry_hash=row["prev_hash"]).exists():
        return Finding(TamperKind.REORDERED, seq, f"第 {seq} 条的前序哈希指向日志中另一位置的条目：条目顺序被调换。")
    return Finding(
        TamperKind.BROKEN_LINK,
        seq,
        f"第 {seq} 条的前序哈希与第 {seq - 1} 条不符，且日志中找不到它指向的条目："
        f"第 {seq - 1} 条被改写，或其间有条目被删除后重新编号。",
    )


def _bad_seal(row: dict, keys) -> Finding | None:
    seq = row["seq"]
    problem = check_seal(keys, row["mac_key_id"], seq, row["entry_hash"], row["entry_mac"])
    if problem == "unknown_key":
        key = row["mac_key_id"] or "（无）"
        return Finding(
            TamperKind.UNKNOWN_KEY,
            seq,
            f"第 {seq} 条的签名密钥 {key} 不在 AUDIT_HMAC_KEYS 中："
            "条目未经本系统签名，或轮换时删掉了仍在使用的旧密钥。",
        )
    if problem == "bad_mac":
        return Finding(
            TamperKind.BAD_MAC,
            seq,
            f"第 {seq} 条的密钥签名（HMAC）不符：该条目不是由本系统写入的"
            f"（能直接写数据库的人追加或重算了它），或其序号、哈希被改动。",
        )
    return None


def verify_chain(
    *, head: dict | None = None, heads=(), batch_size: int = 2000, using: str | None = None
) -> VerifyResult:
    """Walk the whole chain in ``seq`` order; compare with ``head`` (and ``heads``); stop at the first problem.

    Every entry must also carry a valid seal under one of ``settings.AUDIT_HMAC_KEYS``.
    """
    all_heads = [h for h in (head, *heads) if h]
    head = max(all_heads, key=lambda h: h["seq"]) if all_heads else None
    result = VerifyResult(head=head)
    head_seq = head["seq"] if head else None
    by_seq = {h["seq"]: h for h in sorted(all_heads, key=lambda h: h["seq"])}
    keys = settings.AUDIT_HMAC_KEYS
    expected_seq, expected_prev, before_previous = 1, GENESIS, None
    rows = AuditEntry.objects.using(using).order_by("seq").values(*ROW_FIELDS)
    while True:
        fetched = 0
        for row in rows.filter(seq__gt=result.last_seq)[:batch_size].iterator(chunk_size=batch_size):
            fetched += 1
            seq = row["seq"]
            if seq != expected_seq:
                result.finding = _gap(expected_seq, seq)
                return result
            if compute_hash(row) != row["entry_hash"]:
                result.finding = Finding(TamperKind.MODIFIED, seq, f"第 {seq} 条的内容与其哈希不符：该条目被修改。")
                return result
            if row["prev_hash"] != expected_prev:
                result.finding = _broken_link(row, before_previous, using)
                return result
            recorded = by_seq.get(seq)
            if recorded is not None and row["entry_hash"] != recorded["entry_hash"]:
                result.finding = Finding(
                    TamperKind.REWRITTEN,
                    seq,
                    f"第 {seq} 条的哈希与头记录不符：日志在该条或之前被整体改写"
                    f"（头记录记于 {recorded.get('verified_at', '未知时间')}）。",
                )
                return result
            bad_seal = _bad_seal(row, keys)
            if bad_seal is not None:
                result.finding = bad_seal
                return result
            result.count += 1
            result.last_seq, result.last_id, result.last_hash = seq, row["id"], row["entry_hash"]
            before_previous, expected_prev = expected_prev, row["entry_hash"]
            expected_seq += 1
        if fetched < batch_size:
            break
    if head_seq is not None and result.last_seq < head_seq:
        result.finding = Finding(
            TamperKind.TRUNCATED,
            result.last_seq + 1,
            f"头记录显示日志至少有 {head_seq} 条，现在只到第 {result.last_seq} 条：日志尾部被截断。",
        )
    return result


def default_head_file() -> Path:
    return Path(getattr(settings, "AUDIT_HEAD_FILE", Path(settings.BASE_DIR) / "var" / "audit-head.json"))


def read_head(path: Path) -> dict | None:
    """The head recorded in ``path``, or None when the file does not exist yet."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise HeadFileError(f"无法读取头记录文件 {path}：{error}。") from error
    try:
        head = json.loads(text)
    except ValueError as error:
        raise HeadFileError(f"头记录文件 {path} 不是有效的 JSON。") from error
    if (
        not isinstance(head, dict)
        or not isinstance(head.get("seq"), int)
        or isinstance(head.get("seq"), bool)
        or head["seq"] < 0
        or not isinstance(head.get("entry_hash"), str)
        or not HASH_RE.match(head["entry_hash"])
    ):
        raise HeadFileError(f"头记录文件 {path} 缺少有效的 seq 与 entry_hash。")
    return head


def write_head(path: Path, result: VerifyResult) -> dict:
    """Record the verified head in ``path`` atomically (write a temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {
        "seq": result.last_seq,
        "entry_hash": result.last_hash,
        "count": result.count,
        "verified_at": timezone.now().isoformat(timespec="seconds"),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-head-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(head, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return head


def default_head_log() -> Path:
    return Path(getattr(settings, "AUDIT_HEAD_LOG", Path(settings.BASE_DIR) / "var" / "audit-head.log"))


def head_log_line(*, source: str, status: str, seq: int, entry_id, entry_hash: str, **extra) -> str:
    """One line of the head log: UTC time, then ``key=value`` fields (no spaces inside values)."""
    stamp = timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    fields = {"source": source, "status": status, "seq": seq, "id": entry_id or "-", "hash": entry_hash, **extra}
    return stamp + "".join(f" {key}={str(value).replace(' ', '_')}" for key, value in fields.items())


def append_head_log(line: str, path: Path | None = None) -> Path:
    """Append ``line`` to the head log (opened O_APPEND, fsynced); also send it to the ``xinyuan.audit.head`` logger.

    The file is only ever appended to, so it can be shipped line by line (``tail -F``, rsync
    ``--append-verify``, syslog) to a machine the database's administrators cannot write.
    """
    path = Path(path) if path else default_head_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    head_logger.info("audit-head %s", line)
    return path


def read_head_log(path: Path | None = None) -> dict | None:
    """The furthest good head in the head log (``status=ok`` line with the highest ``seq``), or None.

    Lines that do not parse are skipped: the JSON head file is the strict record, this log the
    witness shipped elsewhere.
    """
    path = Path(path) if path else default_head_log()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise HeadFileError(f"无法读取头记录日志 {path}：{error}。") from error
    best = None
    for line in lines:
        stamp, _, rest = line.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split() if "=" in part)
        if fields.get("status") != "ok" or not fields.get("seq", "").isdecimal() or not fields["seq"].isascii():
            continue
        if not HASH_RE.match(fields.get("hash", "")) or int(fields["seq"]) == 0:
            continue
        seq = int(fields["seq"])
        if best is None or seq >= best["seq"]:
            best = {"seq": seq, "entry_hash": fields["hash"], "verified_at": stamp, "source": str(path)}
    return best


def record_tail(*, source: str = "task", path: Path | None = None) -> str:
    """Append the current chain tail to the head log, after checking the tail entry's seal; return the line.

    Cheap (one row), so the periodic task can run it often: a later rewrite or truncation of the
    log then contradicts a line already shipped elsewhere. A tail with a bad seal is logged as such
    (``status=bad_mac`` or ``unknown_key``) and never becomes a head.
    """
    tail = AuditEntry.objects.order_by("-seq").values("id", "seq", "entry_hash", "mac_key_id", "entry_mac").first()
    if tail is None:
        line = head_log_line(source=source, status="empty", seq=0, entry_id=None, entry_hash=GENESIS)
    else:
        problem = check_seal(
            settings.AUDIT_HMAC_KEYS, tail["mac_key_id"], tail["seq"], tail["entry_hash"], tail["entry_mac"]
        )
        line = head_log_line(
            source=source,
            status=problem or "ok",
            seq=tail["seq"],
            entry_id=tail["id"],
            entry_hash=tail["entry_hash"],
            key=tail["mac_key_id"] or "-",
        )
    append_head_log(line, path)
    return line


def run_verification(
    head_file: Path | None = None,
    *,
    record: bool = False,
    batch_size: int = 2000,
    log_source: str | None = None,
    head_log: Path | None = None,
) -> VerifyResult:
    """Verify the chain against the head in ``head_file`` and the head log; with ``record``, write the new head.

    The web page runs it without ``record`` (the web server need not write there); the
    ``verify_audit`` command records. A failed run never moves the head. With ``log_source``
    every run, passed or failed, appends one line to the head log.
    """
    path = Path(head_file) if head_file else default_head_file()
    log_path = Path(head_log) if head_log else default_head_log()
    try:
        head = read_head(path)
        logged = read_head_log(log_path)
    except HeadFileError as error:
        result = VerifyResult(finding=Finding(TamperKind.HEAD_UNREADABLE, None, str(error)), head_file=str(path))
        if log_source:
            _log_result(result, log_source, log_path)
        return result
    result = verify_chain(head=head, heads=(logged,) if logged else (), batch_size=batch_size)
    result.head_file = str(path)
    if head is None and logged is None:
        result.notes.append(f"未找到头记录文件 {path}：本次只检查了链内一致性，无法发现截断。")
    if result.ok and record:
        write_head(path, result)
        result.notes.append(f"已写入新的头记录：第 {result.last_seq} 条 → {path}")
    if log_source:
        _log_result(result, log_source, log_path)
        result.notes.append(f"已在头记录日志追加一行 → {log_path}")
    return result


def _log_result(result: VerifyResult, source: str, path: Path) -> None:
    if result.ok:
        line = head_log_line(
            source=source,
            status="ok",
            seq=result.last_seq,
            entry_id=result.last_id,
            entry_hash=result.last_hash,
            count=result.count,
        )
    else:
        line = head_log_line(
            source=source,
            status="failed",
            seq=result.last_seq,
            entry_id=result.last_id,
            entry_hash=result.last_hash,
            kind=result.finding.kind,
            at=result.finding.seq if result.finding.seq is not None else "-",
        )
    append_head_log(line, path)
