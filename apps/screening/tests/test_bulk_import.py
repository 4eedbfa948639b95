"""S-CLIENT-3 (issue 4, speed): the fast paths of the screening import give exactly what the
general rules give, and the COPY path writes exactly what the ORM path writes."""

import datetime as dt
import random

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from huey.contrib.djhuey import HUEY
from stdnum.cn import ric

from apps.clients.models import Client
from apps.core.scoping import unscoped
from apps.identity.names import pinyin_keys
from apps.identity.phones import normalize_phone
from apps.identity.resident_id import validate_resident_id
from apps.screening import importer, services
from apps.screening.models import ImportBatch, ScreeningRecord
from apps.vault.crypto import (
    DecryptionError,
    blind_index,
    blind_index_many,
    decrypt_text,
    encrypt_many,
    encrypt_text,
)
from apps.vault.normalizers import normalize_id_number, normalize_text
from apps.vault.normalizers import normalize_phone as vault_normalize_phone
from conftest import make_user

from .factories import id_number, people, person_row, workbook_bytes

TODAY = dt.date(2026, 3, 20)
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def test_encrypt_many_and_blind_index_many_match_the_single_value_functions():
    """S-CLIENT-3: bulk encryption decrypts like encrypt_text's, with a fresh nonce per value; bulk
    blind indexes equal blind_index's under the current and the previous index key."""
    values = ["张三", "张三", "", "330106195001010005", "住址\t含\n特殊字符", "ﾃｽﾄ"]
    tokens = encrypt_many(values, "clients.client.name")
    assert [decrypt_text(t, "clients.client.name") for t in tokens] == values
    assert len(set(tokens)) == len(tokens)  # equal plaintexts, different nonces
    assert all(t.split(":")[:2] == encrypt_text("x", "clients.client.name").split(":")[:2] for t in tokens)
    with pytest.raises(DecryptionError):
        decrypt_text(tokens[0], "clients.client.phone")  # bound to its column like encrypt_text's
    samples = ["张三", " 张三　丰 ", "", None, "+86 139-0000-0001", "330106 19500101 000x", "ＡＢＣ"]
    for normalizer in (None, normalize_text, normalize_id_number, vault_normalize_phone):
        assert blind_index_many(samples, normalizer) == [blind_index(v, normalizer) for v in samples]
    old_key = b"\x01" * 32
    with override_settings(VAULT_INDEX_KEY=old_key, VAULT_INDEX_KEY_PREVIOUS=None):
        expected = [blind_index(v) for v in samples]
    assert blind_index_many(samples, key=old_key) == expected


def test_resident_id_fast_path_agrees_with_validate_resident_id():
    """S-CLIENT-3: the per-region checksum accepts exactly the numbers validate_resident_id accepts
    (with the same birth date and gender) and leaves every other spelling to it."""
    rng = random.Random(4)
    fast = importer.ResidentIds(TODAY)
    candidates = []
    for i in range(400):
        born = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(0, 46000))
        good = id_number(i * 977, born, region=rng.choice(["330106", "110101", "460100", "810000", "999999"]))
        candidates += [good, good[:-1] + rng.choice("0123456789X"), good.lower(), good[:6] + "20991301" + good[14:]]
        body = good[:6] + f"{born:%Y%m%d}"[:4] + "1302" + good[14:17]
        candidates.append(body + ric.calc_check_digit(body + "0"))  # 13th month
    candidates += ["110101" + "26000101" + "0011", "33010680010100", "３３０１０６１９５００１０１０００５"]
    accepted = 0
    for number in candidates:
        try:
            resident = validate_resident_id(number, today=TODAY)
        except ValidationError:
            resident = None
        found = fast.check(number)
        if found is not None:
            assert resident is not None and resident.number == number
            assert found == (resident.birth_date, "male" if resident.gender == "male" else "female")
            accepted += 1
        elif resident is not None:
            fast.learn(resident.number)
            if resident.number == number:  # normal spelling: known from now on
                assert fast.check(number) == (resident.birth_date, str(resident.gender))
    assert accepted > 250


def test_mobile_fast_path_agrees_with_normalize_phone():
    """S-CLIENT-3: a plainly written mainland mobile number gets libphonenumber's own E.164 form;
    anything the fast path declines still goes through normalize_phone."""
    rng = random.Random(5)
    numbers = [f"1{p:02d}{rng.randrange(10**8):08d}" for p in range(100) for _ in range(6)]
    numbers += ["17951234567", "11012345678", "1390000000", "139000000011", "057187654321", "+8613900000001"]
    hits = 0
    for text in numbers:
        try:
            expected = normalize_phone(text)
        except ValidationError:
            expected = None
        found = importer.fast_mobile(text)
        if found is not None:
            assert found == expected, text
            hits += 1
        if expected:
            assert importer._phone_for_index(expected) == vault_normalize_phone(expected)
    assert hits > 250
    assert importer.fast_mobile("13900000001") == "+8613900000001"


def test_initials_cache_agrees_with_pinyin_keys():
    """S-CLIENT-3: cached pinyin initials equal apps.identity.names.pinyin_keys for every kind of name."""
    names = ["王秀英", "曾小贤", "单田芳", "欧阳娜娜", "欧阳", "尉迟恭", "万俟卨", "李Lily", "阿依古丽·买买提",
             "张 三", "ＡＢＣ", "周杰伦2", "王秀英", "乐嘉", "曾", "", "Smith John"]  # fmt: skip
    initials = importer.Initials()
    for name in names + names:
        assert initials(name) == pinyin_keys(name)[1], name


def test_check_table_gives_the_row_rule_results(tree):
    """S-CLIENT-3: column checking yields the same values and the same errors as Validator.row."""
    rows = [person_row(i) for i in range(30)]
    rows += [
        person_row(30, id_number=person_row(30)[1].lower()),
        person_row(31, id_number="", birth_date="1980-02-30"),
        person_row(32, birth_date="1950-01-05"),  # disagrees with the ID number
        person_row(33, phone="0571-87654321"),
        person_row(34, phone="12345"),
        person_row(35, gender="男", id_number="", categories="失业、待业人员；不存在；失业、待业人员"),
        person_row(36, screened_on=dt.date(2026, 3, 1), risk_level="HIGH"),
        person_row(37, screened_on="2027-01-01", finding="很" * 2001, address="路" * 201),
        person_row(38, name="", id_number="110101190001010011"),
        person_row(39, name="  钱多多 ", phone=13900000039.0, gender="未说明"),
        ["", "", "", "", "", "", "", "", "", ""],
    ]
    cells = [importer.TEMPLATE_HEADERS, *rows]
    columns = importer.map_headers(cells)
    body, numbers = importer._data_rows(cells, columns)
    assert numbers == list(range(2, 2 + len(rows) - 1))  # the blank row is not a data row
    table, errors = importer.check_table(importer.Validator(columns, TODAY), body, numbers)
    reference = importer.Validator(columns, TODAY)
    expected_errors = []
    for position, (number, raw) in enumerate(zip(numbers, body, strict=True)):
        row, row_errors = reference.row(number, raw)
        expected_errors += row_errors
        got = table.row(position)
        for name in importer.ROW_FIELDS:
            assert getattr(got, name) == getattr(row, name), (number, name)
    assert errors == expected_errors
    assert {e["row"] for e in errors} >= {33, 34, 36, 37, 39, 40}


def _batch(unit, user, name) -> ImportBatch:
    with unscoped("test setup"):
        return ImportBatch.objects.create(
            unit=unit, unit_path=unit.path, scope_path=unit.path, uploaded_by=user, file_name=name, stored_name=name
        )


def _import(batch, content: bytes, use_copy: bool) -> ImportBatch:
    (services.upload_dir() / batch.stored_name).write_bytes(content)
    progress = importer.Progress(batch)
    try:
        with unscoped("the background job runs unscoped, as process_batch does"):
            table, errors = importer.validate_file(batch, progress)
            assert errors == []
            importer.write_rows(batch, table, progress, use_copy=use_copy)
    finally:
        progress.close()
    return batch


def _stored(unit) -> list[tuple]:
    """Every client of ``unit`` with its screening records, decrypted, in row order."""
    with unscoped("test assertion"):
        clients = Client.objects.filter(unit=unit).order_by("pk").prefetch_related("categories")
        out = []
        for c in clients:
            records = [
                (r.screened_on, r.finding, r.risk_level, r.source, r.screened_by_id, r.unit_path)
                for r in ScreeningRecord.objects.filter(client=c).order_by("pk")
            ]
            out.append(
                (c.name, c.name_index, c.name_initials, c.gender, c.birth_date, c.id_number, c.id_number_index,
                 c.phone, c.phone_index, c.address, c.employer, c.ethnicity, c.version, c.merged_into_id,
                 c.created_by_id, c.unit_path, sorted(x.name for x in c.categories.all()), records)
            )  # fmt: skip
        return out


@postgres_only
def test_copy_path_writes_what_the_orm_path_writes(tree):
    """S-CLIENT-3: COPY and bulk_create store the same clients, categories and records; every
    ciphertext decrypts to the same value and every blind index is the same."""
    worker = make_user("copy_worker", tree.c1, "community_worker")
    other = make_user("orm_worker", tree.other, "district_admin")
    rows = [person_row(i) for i in range(40)]
    rows.append(person_row(40, id_number="", phone="0571-87654321", address="含\t制表符\\和反斜杠"))
    content = workbook_bytes(rows)
    copied = _import(_batch(tree.c1, worker, "copy.xlsx"), content, use_copy=True)
    written = _import(_batch(tree.other, other, "orm.xlsx"), content, use_copy=False)
    by_copy, by_orm = _stored(tree.c1), _stored(tree.other)
    assert len(by_copy) == 41

    def same_part(client):  # all but the uploader, the unit and the records' uploader and unit
        return client[:14] + (client[16], [record[:4] for record in client[17]])

    assert [same_part(c) for c in by_copy] == [same_part(c) for c in by_orm]
    assert {c[14] for c in by_copy} == {worker.pk} and {c[15] for c in by_copy} == {tree.c1.path}
    assert {r[4:] for c in by_copy for r in c[17]} == {(worker.pk, tree.c1.path)}
    assert (copied.created_clients, copied.created_records) == (written.created_clients, written.created_records)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, address FROM clients_client WHERE unit_id = %s ORDER BY id", [tree.c1.pk])
        name, address = cursor.fetchone()
    assert name.startswith("v1:") and decrypt_text(name, "clients.client.name") == by_copy[0][0]
    assert decrypt_text(address, "clients.client.address") == by_copy[0][9]
    with unscoped("test assertion"):
        found = Client.objects.search_exact("phone", "13900000007").values_list("unit_id", flat=True)
        assert sorted(found) == sorted([tree.c1.pk, tree.other.pk])  # found by blind index, both ways
        assert ScreeningRecord.objects.filter(import_batch=copied).count() == 41


@pytest.mark.parametrize("use_copy", [True, False])
def test_a_failure_while_writing_writes_nothing(tree, monkeypatch, use_copy):
    """S-CLIENT-3: an error after some rows went in (COPY or bulk_create) rolls every row back."""
    if use_copy and connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    worker = make_user("fail_worker", tree.c1, "community_worker")
    batch = _batch(tree.c1, worker, "fail.xlsx")
    (services.upload_dir() / batch.stored_name).write_bytes(people(30))
    real = importer.write_rows

    def failing_after_clients(*args, **kwargs):
        monkeypatch.setattr(importer, "_record", lambda *a: 1 / 0)  # the ORM path's records
        monkeypatch.setattr(importer.ScreeningRecord._meta, "db_table", "no_such_table")  # the COPY path's
        return real(*args, use_copy=use_copy, **kwargs)

    monkeypatch.setattr(importer, "write_rows", failing_after_clients)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the job logs and re-raises whatever broke
        importer.process_batch(batch.pk)
    monkeypatch.undo()
    with unscoped("test assertion"):
        assert Client.objects.count() == 0 and ScreeningRecord.objects.count() == 0
        batch.refresh_from_db()
    assert batch.status == "failed" and "未写入任何数据" in batch.message


def test_progress_writes_status_changes_at_once_and_counts_at_most_twice_a_second(tree, monkeypatch):
    """X-5, S-CLIENT-3: the progress bar gets every phase change, and row counts without a write per chunk."""
    worker = make_user("progress_worker", tree.c1, "community_worker")
    batch = _batch(tree.c1, worker, "p.xlsx")
    clock, written = [100.0], []
    monkeypatch.setattr(importer.time, "monotonic", lambda: clock[0])
    progress = importer.Progress(batch)
    monkeypatch.setattr(progress, "write", lambda: written.append((batch.processed_rows, batch.status)))
    try:
        progress.set(10, "validating")
        progress.set(20)  # the same instant: not written
        progress.set(30, "importing")  # a new phase: written at once
        clock[0] += 0.6
        progress.set(40)
    finally:
        progress.close()
    assert written == [(10, "validating"), (30, "importing"), (40, "importing")]
