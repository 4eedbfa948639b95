import hashlib
import hmac
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models.functions import Cast

from apps.vault.crypto import blind_index
from apps.vault.models import CanaryRecord
from apps.vault.normalizers import normalize_id_number, normalize_phone
from apps.vault.services import do_rotate_keys

from .conftest import I1, I2, K1, K2

pytestmark = pytest.mark.django_db

PEOPLE = [
    ("张三丰", "33010619900101123X", "13912348866", "第一次会谈记录"),
    ("李四", "110105194912310021", "13800138000", ""),
    ("王五", "", "0571-88881234", "家访：情绪稳定"),
    ("赵六", "440301198001010011", "", "长" * 3000),
    ("钱七", "110105200001010037", "+86 137 0000 0007", "转介记录"),
]


def raw_values(name: str) -> list[str]:
    """The stored values of one column, bypassing decryption."""
    return list(CanaryRecord.objects.order_by("pk").values_list(Cast(name, models.TextField()), flat=True))


def key_ids() -> set[str]:
    """Key ids of every non-empty stored value of every encrypted column."""
    found = set()
    for name in ("name", "id_number", "phone", "note"):
        found |= {value.split(":")[1] for value in raw_values(name) if value}
    return found


def assert_all_readable_and_searchable(records, *, current_index=True):
    """Every row decrypts to what was written and is found by both blind indexes.

    ``current_index`` also asks that the stored index is the one under the current index key
    (false while an index-key change is under way and only search_exact finds old rows).
    """
    by_pk = {record.pk: record for record in CanaryRecord.objects.all()}
    assert len(by_pk) == len(records)
    for pk, (name, id_number, phone, note) in records.items():
        assert (by_pk[pk].name, by_pk[pk].id_number, by_pk[pk].phone, by_pk[pk].note) == (name, id_number, phone, note)
        if id_number:
            assert list(CanaryRecord.objects.search_exact("id_number", id_number).values_list("pk", flat=True)) == [pk]
            index = blind_index(id_number, normalize_id_number)
            direct = list(CanaryRecord.objects.filter(id_number_index=index).values_list("pk", flat=True))
            assert direct == ([pk] if current_index else [])
        if phone:
            assert list(CanaryRecord.objects.search_exact("phone", phone).values_list("pk", flat=True)) == [pk]


@pytest.fixture
def people(vault_keys, tree):
    """Five records written under field key k1 and index key I1: {pk: (name, id, phone, note)}."""
    records = {}
    for name, id_number, phone, note in PEOPLE:
        record = CanaryRecord.objects.create(unit=tree.c1, name=name, id_number=id_number, phone=phone, note=note)
        records[record.pk] = (name, id_number, phone, note)
    assert key_ids() == {"k1"}
    return records


def test_old_key_in_list_still_decrypts_and_new_writes_use_first_key(people, settings):
    """X-4: after adding k2 in front, k1 rows still read and new rows are written with k2."""
    settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
    assert_all_readable_and_searchable(people)
    record = CanaryRecord.objects.create(name="孙八", phone="13600000008")
    people[record.pk] = ("孙八", "", "13600000008", "")
    assert raw_values("name")[-1].startswith("v1:k2:")
    assert key_ids() == {"k1", "k2"}
    assert_all_readable_and_searchable(people)


def test_rotate_keys_moves_every_row_to_the_new_key(people, settings):
    """X-4: rotate_keys re-encrypts in batches; afterwards the old key can go and 100% still read."""
    settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
    out = StringIO()
    call_command("rotate_keys", "--batch-size", "2", stdout=out)
    output = out.getvalue()
    assert "vault.canaryrecord：已检查 2/5 行，已改写 2 行" in output
    assert "vault.canaryrecord：已检查 4/5 行，已改写 4 行" in output
    assert "vault.canaryrecord：已检查 5/5 行，已改写 5 行" in output
    assert "完成：共改写 5 行，所有加密字段均已使用密钥 k2" in output
    assert key_ids() == {"k2"}
    settings.VAULT_FIELD_KEYS = {"k2": K2}
    assert_all_readable_and_searchable(people)
    again = StringIO()
    call_command("rotate_keys", stdout=again)
    assert "共改写 0 行" in again.getvalue()


def test_rotation_rewrites_only_rows_on_old_keys(people, settings):
    """X-4: a row already on the current key is not rewritten (an interrupted run just restarts)."""
    settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
    first_pk = min(people)
    record = CanaryRecord.objects.get(pk=first_pk)
    record.save()
    before = CanaryRecord.objects.filter(pk=first_pk).values_list(Cast("note", models.TextField()), flat=True).get()
    report = do_rotate_keys(actor=None, batch_size=3)
    assert report.rewritten == 4 and report.key_id == "k2"
    after = CanaryRecord.objects.filter(pk=first_pk).values_list(Cast("note", models.TextField()), flat=True).get()
    assert before == after


def test_rotation_stops_at_a_row_whose_key_is_missing(people, settings):
    """X-4: removing the old key before rotating is caught, naming the row, and nothing is rewritten."""
    settings.VAULT_FIELD_KEYS = {"k2": K2}
    with pytest.raises(CommandError, match=rf"vault.canaryrecord #{min(people)}.*'k1'.*XINYUAN_FIELD_KEYS"):
        call_command("rotate_keys", stdout=StringIO())
    settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
    assert key_ids() == {"k1"}
    assert_all_readable_and_searchable(people)


def test_index_key_rotation_keeps_search_working(people, settings):
    """X-4: with the previous index key set search works throughout; after --new-index-key it can go."""
    settings.VAULT_INDEX_KEY = I2
    # Without the previous key, rows indexed under I1 are not found: the rotation is needed.
    assert not CanaryRecord.objects.search_exact("phone", "13912348866").exists()
    settings.VAULT_INDEX_KEY_PREVIOUS = I1
    assert_all_readable_and_searchable(people, current_index=False)
    out = StringIO()
    call_command("rotate_keys", "--new-index-key", "--batch-size", "2", stdout=out)
    assert "盲索引已按当前索引密钥重算" in out.getvalue()
    settings.VAULT_INDEX_KEY_PREVIOUS = None
    assert_all_readable_and_searchable(people)
    stored = dict(CanaryRecord.objects.values_list("phone", "phone_index"))
    for phone, index in stored.items():
        if phone:
            assert index == hmac.new(I2, normalize_phone(phone).encode(), hashlib.sha256).hexdigest()
        else:
            assert index is None


def test_field_and_index_keys_rotated_together(people, settings):
    """X-4: both keys replaced at once; after one run only the new keys are needed."""
    settings.VAULT_FIELD_KEYS = {"k2": K2, "k1": K1}
    settings.VAULT_INDEX_KEY, settings.VAULT_INDEX_KEY_PREVIOUS = I2, I1
    out = StringIO()
    call_command("rotate_keys", "--new-index-key", stdout=out)
    assert "未设置 XINYUAN_INDEX_KEY_PREVIOUS" not in out.getvalue()
    settings.VAULT_FIELD_KEYS = {"k2": K2}
    settings.VAULT_INDEX_KEY_PREVIOUS = None
    assert key_ids() == {"k2"}
    assert_all_readable_and_searchable(people)


def test_new_index_key_without_previous_key_warns(people, settings):
    """X-4: --new-index-key without XINYUAN_INDEX_KEY_PREVIOUS still reindexes but warns the operator."""
    settings.VAULT_INDEX_KEY = I2
    out = StringIO()
    call_command("rotate_keys", "--new-index-key", stdout=out)
    assert "未设置 XINYUAN_INDEX_KEY_PREVIOUS" in out.getvalue()
    assert_all_readable_and_searchable(people)


def test_bad_batch_size_is_refused(vault_keys):
    """X-4: a non-positive batch size is refused before anything is read."""
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("rotate_keys", "--batch-size", "0", stdout=StringIO())
