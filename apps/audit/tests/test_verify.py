import json
import random
import time
from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from apps.audit.choices import AuditAction, TamperKind
from apps.audit.services import log_event
from apps.audit.verification import read_head, run_verification, verify_chain, write_head

from . import helpers
from .helpers import build_chain

CHAIN_LENGTH = 10_000
TRIALS = 100


def _tampered(tamper, head=None):
    """Apply ``tamper`` inside a savepoint, verify, and roll the tampering back."""
    with transaction.atomic():
        tamper()
        result = verify_chain(head=head)
        transaction.set_rollback(True)
    return result


@pytest.fixture
def chain(tree, counsellor_a):
    helpers.start_empty_log()
    return build_chain(200, actor=counsellor_a, unit=tree.c1)


def test_intact_chain_verifies(chain):
    """X-4: a correctly chained log passes, with its head."""
    result = verify_chain()
    assert result.ok and result.count == 200 and result.last_seq == 200
    assert result.last_hash == chain[-1].entry_hash


def test_entries_written_by_the_service_verify_on_this_database(tree, counsellor_a):
    """X-4: what is hashed at write time is exactly what the database gives back (times, JSON, IPv6)."""
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="2001:0db8::0001")
    log_event(
        actor=counsellor_a,
        action=AuditAction.UPDATE,
        obj=tree.c1,
        request=request,
        changes={"n": {"before": 1.5, "after": 10**20}, "t": {"before": '引号"与\\斜杠', "after": "\x00空"}},
    )
    log_event(actor=None, action=AuditAction.OTHER, label="x" * 500, purpose="长" * 900)
    assert verify_chain(batch_size=1).ok


@pytest.mark.parametrize("column", helpers.EDITABLE_COLUMNS)
def test_editing_any_hashed_column_is_detected(chain, column, district_admin, tree):
    """X-4: changing any stored value of one entry is reported as a modification of that entry."""
    result = _tampered(lambda: helpers.tamper_edit(57, column, district_admin.pk, tree.s2.pk))
    assert (result.finding.kind, result.finding.seq) == (TamperKind.MODIFIED, 57)
    assert result.count == 56


def test_each_kind_of_tampering_is_named(chain):
    """X-4: deleted → seq gap, inserted → link skips the intruder, reordered → link points elsewhere."""
    deleted = _tampered(lambda: helpers.tamper_delete(100))
    assert (deleted.finding.kind, deleted.finding.seq) == (TamperKind.DELETED, 100)
    several = _tampered(lambda: helpers.raw_delete("seq BETWEEN %s AND %s", [10, 12]))
    assert (several.finding.kind, several.finding.seq) == (TamperKind.DELETED, 10)
    assert "第 10–12 条" in several.finding.message
    inserted = _tampered(lambda: helpers.tamper_insert(100))
    assert (inserted.finding.kind, inserted.finding.seq) == (TamperKind.INSERTED, 100)
    first = _tampered(lambda: helpers.tamper_insert(1))
    assert (first.finding.kind, first.finding.seq) == (TamperKind.INSERTED, 1)
    swapped = _tampered(lambda: helpers.tamper_swap(100))
    assert (swapped.finding.kind, swapped.finding.seq) == (TamperKind.REORDERED, 100)
    first_gone = _tampered(lambda: helpers.tamper_delete(1))
    assert (first_gone.finding.kind, first_gone.finding.seq) == (TamperKind.DELETED, 1)


def test_delete_and_renumber_breaks_the_link(chain):
    """X-4: an entry deleted and the rest renumbered to hide the gap is still found."""

    def delete_and_renumber():
        helpers.tamper_delete(80)
        helpers._renumber("seq > %s", [80], -1)

    result = _tampered(delete_and_renumber)
    assert (result.finding.kind, result.finding.seq) == (TamperKind.BROKEN_LINK, 80)


def test_edit_with_recomputed_hash_breaks_the_next_link(chain):
    """X-4: re-hashing an edited entry does not help: without the HMAC key its seal no longer fits
    (issue 14 item 12); even with the key, the next entry still seals the old hash."""
    from django.conf import settings

    from apps.audit.chain import compute_hash
    from apps.audit.keys import seal

    def edit_and_rehash(with_key: bool):
        row = helpers.row(120)
        row["object_label"] = "改写"
        helpers.raw_update(120, "object_label", "改写")
        helpers.raw_update(120, "entry_hash", compute_hash(row))
        if with_key:
            helpers.raw_update(120, "entry_mac", seal(settings.AUDIT_HMAC_KEYS, 120, compute_hash(row))[1])

    result = _tampered(lambda: edit_and_rehash(False))
    assert (result.finding.kind, result.finding.seq) == (TamperKind.BAD_MAC, 120)
    result = _tampered(lambda: edit_and_rehash(True))
    assert (result.finding.kind, result.finding.seq) == (TamperKind.BROKEN_LINK, 121)


def test_head_file_catches_truncation_and_rewriting(chain):
    """X-4: a consistent but shortened or re-hashed chain is caught by the head kept outside the database."""
    head = {"seq": 200, "entry_hash": chain[-1].entry_hash}
    truncated = _tampered(lambda: helpers.tamper_truncate(150), head=head)
    assert (truncated.finding.kind, truncated.finding.seq) == (TamperKind.TRUNCATED, 151)
    assert verify_chain().ok is True  # without the head nothing shows: that is why the file exists
    emptied = _tampered(lambda: helpers.tamper_truncate(0), head=head)
    assert emptied.finding.kind == TamperKind.TRUNCATED
    rewritten = _tampered(lambda: helpers.tamper_rewrite_from(190), head=head)
    assert (rewritten.finding.kind, rewritten.finding.seq) == (TamperKind.REWRITTEN, 200)
    with transaction.atomic():
        helpers.tamper_rewrite_from(190)
        assert verify_chain().ok  # consistent again, only the head tells
        transaction.set_rollback(True)
    # The head may be behind the log: new entries after it are fine.
    assert verify_chain(head={"seq": 150, "entry_hash": chain[149].entry_hash}).ok


def test_ten_thousand_entries_hundred_random_tamperings(tree, counsellor_a):
    """X-4 done-when: one edit, delete, insert or reorder in a 10,000-entry chain is found in 100 of 100 trials.

    Each trial tampers with raw SQL inside a savepoint, verifies the whole chain from the first
    entry against the recorded head, checks kind and position, and rolls the tampering back.
    """
    helpers.start_empty_log()
    chain = build_chain(CHAIN_LENGTH, actor=counsellor_a, unit=tree.c1)
    head = {"seq": CHAIN_LENGTH, "entry_hash": chain[-1].entry_hash}
    assert verify_chain(head=head).ok
    rng = random.Random(20260401)
    kinds = ["edit", "delete", "insert", "reorder"] * (TRIALS // 4)
    rng.shuffle(kinds)
    detected, started = 0, time.monotonic()
    for trial, kind in enumerate(kinds):
        # The first trials hit the ends of the chain, the rest anywhere.
        if trial < 4:
            seq = {"edit": CHAIN_LENGTH, "delete": CHAIN_LENGTH, "insert": 1, "reorder": CHAIN_LENGTH - 1}[kind]
        else:
            seq = rng.randint(1, CHAIN_LENGTH - 1 if kind == "reorder" else CHAIN_LENGTH)
        if kind == "edit":
            column = rng.choice(helpers.EDITABLE_COLUMNS)
            tamper = partial(helpers.tamper_edit, seq, column, counsellor_a.pk, tree.c2.pk)
            expected = (TamperKind.MODIFIED, seq)
        elif kind == "delete":
            tamper = partial(helpers.tamper_delete, seq)
            expected = (TamperKind.TRUNCATED if seq == CHAIN_LENGTH else TamperKind.DELETED, seq)
        elif kind == "insert":
            tamper = partial(helpers.tamper_insert, seq)
            expected = (TamperKind.INSERTED, seq)
        else:
            tamper = partial(helpers.tamper_swap, seq)
            expected = (TamperKind.REORDERED, seq)
        result = _tampered(tamper, head)
        assert not result.ok, f"trial {trial}: {kind} at {seq} not detected"
        assert (result.finding.kind, result.finding.seq) == expected, f"trial {trial}: {kind} at {seq}"
        detected += 1
    assert detected == TRIALS
    assert verify_chain(head=head).ok  # every tampering was rolled back
    print(f"{TRIALS} trials on {connection.vendor} in {time.monotonic() - started:.1f}s")


def test_truncation_of_a_ten_thousand_entry_chain(tree):
    """X-4 done-when: truncation of a 10,000-entry chain is detected too."""
    helpers.start_empty_log()
    chain = build_chain(CHAIN_LENGTH)
    head = {"seq": CHAIN_LENGTH, "entry_hash": chain[-1].entry_hash}
    for keep in (0, 1, 5_000, CHAIN_LENGTH - 1):
        result = _tampered(lambda keep=keep: helpers.tamper_truncate(keep), head)
        assert (result.finding.kind, result.finding.seq) == (TamperKind.TRUNCATED, keep + 1)


def test_command_records_head_and_fails_on_tampering(chain, head_file, capsys):
    """X-4: verify_audit writes the head outside the database, and exits 1 on tampering without moving it."""
    call_command("verify_audit", "--head-file", str(head_file))
    out = capsys.readouterr().out
    assert "审计日志完整：共 200 条" in out and "未找到头记录文件" in out
    head = json.loads(head_file.read_text())
    assert head["seq"] == 200 and head["entry_hash"] == chain[-1].entry_hash
    log_event(actor=None, action=AuditAction.OTHER)
    call_command("verify_audit")  # the default comes from settings.AUDIT_HEAD_FILE
    assert read_head(head_file)["seq"] == 201
    helpers.tamper_truncate(199)
    with pytest.raises(CommandError, match="日志尾部被截断") as caught:
        call_command("verify_audit", "--head-file", str(head_file))
    assert caught.value.returncode == 1
    assert read_head(head_file)["seq"] == 201
    helpers.tamper_edit(3, "object_label")
    with pytest.raises(CommandError, match="第 3 条的内容与其哈希不符"):
        call_command("verify_audit", "--head-file", str(head_file), "--batch-size", "7")


def test_command_exit_code_from_the_shell(chain, head_file):
    """X-4: the command's exit code is non-zero on failure (for cron and monitoring)."""
    helpers.tamper_delete(5)
    with pytest.raises(SystemExit) as caught:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "verify_audit", "--head-file", str(head_file)])
    assert caught.value.code == 1


def test_unreadable_head_file_is_a_failure(chain, head_file):
    """X-4: a damaged head file is reported, never silently replaced."""
    head_file.write_text("{not json")
    result = run_verification(head_file, record=True)
    assert result.finding.kind == TamperKind.HEAD_UNREADABLE
    assert head_file.read_text() == "{not json"
    head_file.write_text(json.dumps({"seq": "12", "entry_hash": "x"}))
    with pytest.raises(CommandError, match="头记录文件无法读取"):
        call_command("verify_audit", "--head-file", str(head_file))


def test_write_head_is_atomic_and_creates_the_folder(tmp_path, db):
    """X-4: the head file is replaced in one step; its folder is created on first use."""
    target = tmp_path / "deep" / "head.json"
    result = verify_chain()
    write_head(target, result)
    assert read_head(target)["seq"] == 0
    assert [p.name for p in target.parent.iterdir()] == ["head.json"]


def test_compare_with_an_archived_head_without_writing_it(chain, tmp_path):
    """X-4: --no-write-head compares with a copy on write-once storage and leaves it alone."""
    archive = tmp_path / "worm" / "audit-head-2026-11-22.json"
    write_head(archive, verify_chain())
    log_event(actor=None, action=AuditAction.OTHER)
    call_command("verify_audit", "--head-file", str(archive), "--no-write-head")
    assert read_head(archive)["seq"] == 200
    helpers.tamper_truncate(150)
    with pytest.raises(CommandError, match="日志尾部被截断"):
        call_command("verify_audit", "--head-file", str(archive), "--no-write-head")


def test_unwritable_head_file_is_reported(chain, head_file, monkeypatch):
    """X-4: a head that cannot be written is an error, not a silent success; no half-written file stays."""
    from apps.audit import verification

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(verification.os, "replace", refuse)
    with pytest.raises(CommandError, match="无法写入头记录文件"):
        call_command("verify_audit", "--head-file", str(head_file))
    assert list(head_file.parent.iterdir()) == []
