"""Canary tests: distinctive plaintext is written through every path and then searched for
everywhere it must not be — the database's own bytes and everything logged meanwhile."""

import logging
import os
import sqlite3
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext

from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit
from apps.vault.models import CanaryRecord

from .conftest import K1, K2

CANARY_NAME = "CANARY-张三丰-8866"
CANARY_ID = "33010619880808886X"
CANARY_PHONE = "13988668866"
CANARY_NOTE = "CANARY-NOTE-来访者透露自伤念头-8866"
CANARY_ADDRESS = "CANARY-杭州市西湖区灵隐路8866号"
CANARIES = [CANARY_NAME, CANARY_ID, CANARY_PHONE, CANARY_NOTE, CANARY_ADDRESS, "张三丰", "来访者透露自伤念头"]
CONTROL = "对照明文-CONTROL-5599"  # stored in a plain column: proves the search would see plaintext


def database_bytes(tmp_path) -> bytes:
    """Every byte the test database holds: a page-for-page SQLite copy or a pg_dump."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        # The backup API copies pages verbatim, free pages included, so overwritten or deleted
        # plaintext would still show up; VACUUM INTO would rebuild and hide it.
        connection.ensure_connection()
        target_path = tmp_path / "copy.sqlite3"
        target = sqlite3.connect(target_path)
        connection.connection.backup(target)
        target.close()
        return target_path.read_bytes()
    if connection.vendor == "postgresql":
        command = ["pg_dump", "-h", settings_dict["HOST"] or "127.0.0.1", "-U", settings_dict["USER"] or "postgres"]
        if settings_dict.get("PORT"):
            command += ["-p", str(settings_dict["PORT"])]
        env = dict(os.environ)
        if settings_dict.get("PASSWORD"):
            env["PGPASSWORD"] = settings_dict["PASSWORD"]
        dump = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [*command, settings_dict["NAME"]], capture_output=True, env=env, timeout=120, check=True
        )
        return dump.stdout
    raise AssertionError(f"no canary check written for {connection.vendor}")


@pytest.mark.django_db(transaction=True)
def test_canary_values_never_reach_database_or_logs(tree, caplog, tmp_path, vault_keys, settings):
    """X-4, S-PRIN-3: 0 plaintext hits in the database's bytes and in the logs, across every write path."""
    caplog.set_level(logging.DEBUG)
    do_create_unit(actor=None, parent=None, kind=UnitKind.DISTRICT_CENTRE, name=CONTROL, code="T-CONTROL")
    with CaptureQueriesContext(connection) as queries:
        record = CanaryRecord.objects.create(
            unit=tree.c1, name=CANARY_NAME, id_number=CANARY_ID, phone=CANARY_PHONE, note=CANARY_NOTE
        )
        CanaryRecord.objects.bulk_create([CanaryRecord(unit=tree.c2, name=CANARY_NAME, note=CANARY_ADDRESS)])
        record.note = CANARY_ADDRESS
        record.save(update_fields=["note"])
        CanaryRecord.objects.filter(pk=record.pk).update(note=CANARY_NOTE)
        record.phone = CANARY_PHONE
        CanaryRecord.objects.bulk_update([record], ["phone"])
        fetched = CanaryRecord.objects.search_exact("id_number", CANARY_ID).get()
        assert (fetched.name, fetched.phone, fetched.note) == (CANARY_NAME, CANARY_PHONE, CANARY_NOTE)
        settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
        call_command("rotate_keys", "--new-index-key", stdout=StringIO())
        call_command("vault_selftest", "--scan", stdout=StringIO())
        assert CanaryRecord.objects.search_exact("phone", CANARY_PHONE).count() == 1

    stored = CanaryRecord.objects.filter(pk=record.pk).values_list(Cast("name", models.TextField()), flat=True).get()
    assert stored.startswith("v1:k2:")
    data = database_bytes(tmp_path)
    assert stored.encode() in data, "the copy must hold the canary row, or the check proves nothing"
    assert CONTROL.encode() in data, "plaintext in a plain column must be visible to this check"
    hits = [canary for canary in CANARIES if canary.encode("utf-8") in data]
    assert hits == []

    logged = caplog.text + "\n".join(query["sql"] for query in queries.captured_queries)
    assert "vault_canaryrecord" in logged and "v1:k1:" in logged, "the SQL log must have been captured"
    assert [canary for canary in CANARIES if canary in logged] == []


@pytest.mark.django_db
def test_vault_selftest_prints_ok_and_leaves_nothing(vault_keys):
    """X-4: the self-test writes, reads, searches and deletes canary values, then prints OK."""
    out = StringIO()
    call_command("vault_selftest", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("当前加密密钥：k1（指纹 ")
    assert "写入、读回、盲索引查找、删除自检记录：通过（密钥 k1）" in lines
    assert lines[-1] == "OK"
    assert not any("dev-only" in line for line in lines)
    assert not CanaryRecord.objects.exists()


@pytest.mark.django_db
def test_vault_selftest_warns_about_development_keys(settings):
    """X-4: with keys derived from SECRET_KEY the self-test says so."""
    assert settings.VAULT_DEVELOPMENT_KEYS  # the test run has no XINYUAN_* keys
    out = StringIO()
    call_command("vault_selftest", stdout=out)
    assert "开发密钥（dev-only）" in out.getvalue() and out.getvalue().rstrip().endswith("OK")


@pytest.mark.django_db
def test_vault_selftest_scan_reports_key_usage_and_unreadable_rows(vault_keys, settings):
    """X-4: --scan counts values per key, warns about old keys and fails on undecryptable rows."""
    record = CanaryRecord.objects.create(name="张三丰", phone="13912348866")
    settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
    CanaryRecord.objects.create(name="李四")
    out = StringIO()
    call_command("vault_selftest", "--scan", stdout=out)
    text = out.getvalue()
    assert "vault.canaryrecord：2 行" in text
    assert "vault.canaryrecord.name：k1 1，k2 1" in text
    assert "尚有 2 个值使用旧密钥" in text and text.rstrip().endswith("OK")

    settings.VAULT_FIELD_KEYS = {"k2": K2}
    err = StringIO()
    with pytest.raises(CommandError, match="有 1 行无法解密"):
        call_command("vault_selftest", "--scan", stdout=StringIO(), stderr=err)
    assert f"vault.canaryrecord #{record.pk}" in err.getvalue()
