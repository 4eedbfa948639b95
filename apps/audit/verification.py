"""Verifying the chain, and the head record kept outside the database.

``verify_chain`` walks the log in ``seq`` order, in keyset batches streamed with ``.iterator()``,
and stops at the first problem it finds:

* a gap in ``seq`` → entries were deleted;
* an entry that no longer hashes to its ``entry_hash`` → it was modified;
* an entry whose ``prev_hash`` is not the previous entry's hash → the link is broken. If it
  points at the entry before the previous one, the previous entry was inserted; if it points at
  an entry found elsewhere in the log, entries were reordered; otherwise the previous entry was
  rewritten or entries between were deleted and the rest renumbered.

A chain that is only *consistent* can still have been cut short or rewritten from some point on
with fresh hashes. The head file (``AUDIT_HEAD_FILE``, written by ``manage.py verify_audit``
after every clean run) remembers the last verified ``seq`` and hash outside the database; a
later run reports a log whose tail is shorter than the recorded head (truncated) or whose entry
at the recorded ``seq`` has another hash (rewritten).
"""

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .chain import GENESIS, HASHED_FIELDS, compute_hash
from .choices import TamperKind
from .models import AuditEntry

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
ROW_FIELDS = ("seq", "entry_hash", *HASHED_FIELDS)


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


def verify_chain(*, head: dict | None = None, batch_size: int = 2000, using: str | None = None) -> VerifyResult:
    """Walk the whole chain in ``seq`` order; compare with ``head`` when given; stop at the first problem."""
    result = VerifyResult(head=head)
    head_seq = head["seq"] if head else None
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
            if seq == head_seq and row["entry_hash"] != head["entry_hash"]:
                result.finding = Finding(
                    TamperKind.REWRITTEN,
                    seq,
                    f"第 {seq} 条的哈希与头记录不符：日志在该条或之前被整体改写"
                    f"（头记录记于 {head.get('verified_at', '未知时间')}）。",
                )
                return result
            result.count += 1
            result.last_seq, result.last_hash = seq, row["entry_hash"]
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


def run_verification(head_file: Path | None = None, *, record: bool = False, batch_size: int = 2000) -> VerifyResult:
    """Verify the chain against the head in ``head_file``; with ``record``, write the new head on success.

    The web page runs it without ``record`` (the web server need not write there); the
    ``verify_audit`` command records. A failed run never moves the head.
    """
    path = Path(head_file) if head_file else default_head_file()
    try:
        head = read_head(path)
    except HeadFileError as error:
        return VerifyResult(finding=Finding(TamperKind.HEAD_UNREADABLE, None, str(error)), head_file=str(path))
    result = verify_chain(head=head, batch_size=batch_size)
    result.head_file = str(path)
    if head is None:
        result.notes.append(f"未找到头记录文件 {path}：本次只检查了链内一致性，无法发现截断。")
    if result.ok and record:
        write_head(path, result)
        result.notes.append(f"已写入新的头记录：第 {result.last_seq} 条 → {path}")
    return result
