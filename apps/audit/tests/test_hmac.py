"""Issue 14 item 12: entries sealed with a key the database does not hold; the head shipped outside it.

Cheap on purpose (chains of a few dozen entries): the long tamper trials live in test_verify.py.
"""

import base64
import importlib
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.audit.choices import AuditAction, TamperKind
from apps.audit.keys import entry_mac, hmac_keys_from_environment, parse_hmac_keys
from apps.audit.models import AuditEntry
from apps.audit.services import log_event
from apps.audit.tasks import record_audit_head
from apps.audit.verification import read_head_log, run_verification, verify_chain

from . import helpers
from .helpers import build_chain

K1 = b"1" * 32
K2 = b"2" * 32
LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ source=(\w+) status=(\w+) seq=(\d+) id=(\S+) hash=([0-9a-f]{64})"
)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def chain(tree, counsellor_a, settings):
    settings.AUDIT_HMAC_KEYS = {"k1": K1}
    helpers.start_empty_log()
    return build_chain(30, actor=counsellor_a, unit=tree.c1)


def test_written_entries_carry_a_valid_seal(chain, settings):
    """X-4 (issue 14 item 12): log_event seals each entry with the first key; the chain and seals verify."""
    entry = log_event(actor=None, action=AuditAction.OTHER, label="签名")
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.mac_key_id == "k1"
    assert stored.entry_mac == entry_mac(K1, "k1", stored.seq, stored.entry_hash)
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("key_id", "mac", "kind"),
    [
        ("", "", TamperKind.UNKNOWN_KEY),  # no seal at all
        ("k1", "0" * 64, TamperKind.BAD_MAC),  # a made-up seal under the real key id
        ("k9", "0" * 64, TamperKind.UNKNOWN_KEY),  # a key id the application does not hold
    ],
)
def test_a_forged_tail_with_a_correct_chain_hash_is_caught(chain, head_file, key_id, mac, kind):
    """X-4 (issue 14 item 12): the known limit is closed — an insider who appends an entry with a correct
    chain hash but without the key is named as the first bad entry, and verify_audit fails."""
    seq = helpers.forge_tail(mac_key_id=key_id, entry_mac=mac)
    result = verify_chain()
    assert (result.finding.kind, result.finding.seq) == (kind, seq)
    assert result.count == seq - 1
    with pytest.raises(CommandError, match=f"第 {seq} 条") as caught:
        call_command("verify_audit")
    assert caught.value.returncode == 1


def test_a_seal_copied_from_another_entry_does_not_fit(chain):
    """X-4 (issue 14 item 12): the seal binds the entry's number and hash, so a valid seal cannot be reused."""
    donor = AuditEntry.objects.get(seq=30)
    seq = helpers.forge_tail(mac_key_id=donor.mac_key_id, entry_mac=donor.entry_mac)
    assert (verify_chain().finding.kind, verify_chain().finding.seq) == (TamperKind.BAD_MAC, seq)


def test_key_rotation_keeps_old_entries_verifiable(chain, settings):
    """X-4 (issue 14 item 12): a new first key seals new entries; the old key, still listed, verifies the old ones.
    Dropping a key that still seals entries is reported at the first such entry."""
    settings.AUDIT_HMAC_KEYS = {"k2": K2, "k1": K1}
    entry = log_event(actor=None, action=AuditAction.OTHER, label="轮换后")
    assert AuditEntry.objects.get(pk=entry.pk).mac_key_id == "k2"
    result = verify_chain()
    assert result.ok and result.count == 31
    settings.AUDIT_HMAC_KEYS = {"k2": K2}
    result = verify_chain()
    assert (result.finding.kind, result.finding.seq) == (TamperKind.UNKNOWN_KEY, 1)


def test_verify_audit_appends_the_head_to_the_log_on_every_run(chain, head_log, capsys):
    """X-4 (issue 14 item 12): each verify_audit run appends one line (time, entry id, seq, hash) to the
    append-only head log; a failed run appends a failed line that never counts as a head."""
    call_command("verify_audit")
    log_event(actor=None, action=AuditAction.OTHER)
    call_command("verify_audit")
    lines = head_log.read_text().splitlines()
    assert len(lines) == 2
    tail = AuditEntry.objects.get(seq=31)
    source, status, seq, entry_id, entry_hash = LINE_RE.match(lines[1]).groups()
    assert (source, status, int(seq), entry_id, entry_hash) == ("verify_audit", "ok", 31, str(tail.pk), tail.entry_hash)
    assert "已在头记录日志追加一行" in capsys.readouterr().out
    helpers.forge_tail()
    with pytest.raises(CommandError):
        call_command("verify_audit")
    lines = head_log.read_text().splitlines()
    assert len(lines) == 3 and " status=failed " in lines[2] and " kind=unknown_key at=32" in lines[2]
    assert read_head_log(head_log)["seq"] == 31


def test_the_periodic_task_appends_the_tail(chain, head_log):
    """X-4 (issue 14 item 12): the huey task records the tail, checking its seal, without a full walk."""
    record_audit_head.call_local()
    tail = AuditEntry.objects.get(seq=30)
    line = head_log.read_text().splitlines()[-1]
    assert LINE_RE.match(line).groups() == ("task", "ok", "30", str(tail.pk), tail.entry_hash)
    helpers.forge_tail(mac_key_id="k1", entry_mac="f" * 64)
    record_audit_head.call_local()
    assert " status=bad_mac seq=31 " in head_log.read_text().splitlines()[-1]
    assert read_head_log(head_log)["seq"] == 30


def test_the_shipped_head_log_catches_a_rewrite_without_the_json_head(chain, head_file, head_log):
    """X-4 (issue 14 item 12): a tail recorded by the task exposes a later rewrite, even by someone holding the key."""
    record_audit_head.call_local()
    assert not head_file.exists()
    helpers.tamper_rewrite_from(25)
    result = run_verification(head_file)
    assert (result.finding.kind, result.finding.seq) == (TamperKind.REWRITTEN, 30)


def test_backfill_migration_seals_old_entries_and_records_when(chain, settings):
    """X-4 (issue 14 item 12): entries written before seals existed are sealed by the migration, which
    appends a marker entry stating the moment it vouched for them."""
    helpers.disable_trigger()
    for seq in range(1, 31):
        helpers.raw_update(seq, "entry_mac", "")
        helpers.raw_update(seq, "mac_key_id", "")
    assert verify_chain().finding.kind == TamperKind.UNKNOWN_KEY
    migration = importlib.import_module("apps.audit.migrations.0004_backfill_entry_hmac")
    state_apps = MigrationExecutor(connection).loader.project_state(("audit", "0003_entry_hmac")).apps

    class Editor:
        def __init__(self):
            self.connection = connection

        def execute(self, sql, params=None):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

        def quote_name(self, name):
            return connection.ops.quote_name(name)

    migration.forward(state_apps, Editor())
    result = verify_chain()
    assert result.ok and result.count == 31
    marker = AuditEntry.objects.get(seq=31)
    assert marker.object_id == "30" and "补写密钥签名" in marker.object_label


def test_keys_from_the_environment():
    """X-4 (issue 14 item 12): production refuses a missing key and the dev-only key; keys rotate by id."""
    with pytest.raises(ImproperlyConfigured, match="AUDIT_HMAC_KEYS"):
        hmac_keys_from_environment({}, production=True, secret_key="s" * 50)
    with pytest.raises(ImproperlyConfigured, match="dev-only"):
        hmac_keys_from_environment({"AUDIT_HMAC_KEYS": f"dev-only:{b64(K1)}"}, production=True, secret_key="s")
    development = hmac_keys_from_environment({}, production=False, secret_key="s" * 50)
    copied = f"k1:{b64(development['dev-only'])}"
    with pytest.raises(ImproperlyConfigured, match="dev-only"):
        hmac_keys_from_environment({"AUDIT_HMAC_KEYS": copied}, production=True, secret_key="s" * 50)
    assert list(development) == ["dev-only"] and len(development["dev-only"]) == 32
    keys = hmac_keys_from_environment(
        {"AUDIT_HMAC_KEYS": f"k2:{b64(K2)}, k1:{b64(K1)}"}, production=True, secret_key=""
    )
    assert keys == {"k2": K2, "k1": K1} and list(keys)[0] == "k2"
    for bad in ("k1", f"k1:{b64(b'short')}", f"k1:{b64(K1)},k1:{b64(K2)}", f"bad id:{b64(K1)}", " , "):
        with pytest.raises(ImproperlyConfigured):
            parse_hmac_keys(bad)


def test_a_shipped_copy_of_the_head_log_catches_truncation_and_is_not_written(chain, head_log, tmp_path):
    """X-4 (issue 14 item 12): verify_audit --head-log <copy> --no-write-head compares with the copy kept on
    the second machine and writes neither the copy nor the local head log."""
    record_audit_head.call_local()
    copy = tmp_path / "second-machine.log"
    copy.write_text(head_log.read_text())
    head_log.unlink()
    helpers.tamper_truncate(20)
    with pytest.raises(CommandError, match="日志尾部被截断"):
        call_command("verify_audit", "--head-log", str(copy), "--no-write-head")
    assert len(copy.read_text().splitlines()) == 1 and not head_log.exists()
