import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.writer import MigrationWriter
from django.db.models import F
from django.db.models.functions import Cast
from django.test.utils import isolate_apps

from apps.vault.crypto import DecryptionError, blind_index, decrypt_text, encrypt_text
from apps.vault.fields import BlindIndexField, EncryptedCharField, EncryptedFieldError, EncryptedTextField
from apps.vault.models import CanaryRecord, VaultModel
from apps.vault.normalizers import normalize_id_number, normalize_phone, normalize_text

from .conftest import I1

pytestmark = pytest.mark.django_db

ID_NUMBER = "33010619900101123X"
PHONE = "13912348866"
NOTE = "来访者自述近期失眠、情绪低落。\n第二次会谈：讨论家庭关系。" * 20


def raw(record, name: str) -> str:
    """The value as stored in the database, bypassing decryption."""
    return CanaryRecord.objects.filter(pk=record.pk).values_list(Cast(name, models.TextField()), flat=True).get()


def write_raw(record, name: str, value) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE vault_canaryrecord SET {name} = %s WHERE id = %s", [value, record.pk])  # noqa: S608


@pytest.fixture
def record(vault_keys, tree):
    return CanaryRecord.objects.create(unit=tree.c1, name="张三丰", id_number=ID_NUMBER, phone=PHONE, note=NOTE)


def test_round_trip_stores_only_versioned_ciphertext(record):
    """X-4, S-PRIN-3: values come back as written; the database holds v1:<keyid>: ciphertext only."""
    fetched = CanaryRecord.objects.get(pk=record.pk)
    assert (fetched.name, fetched.id_number, fetched.phone, fetched.note) == ("张三丰", ID_NUMBER, PHONE, NOTE)
    for name, plain in (("name", "张三丰"), ("id_number", ID_NUMBER), ("phone", PHONE), ("note", NOTE)):
        stored = raw(record, name)
        assert stored.startswith("v1:k1:") and plain not in stored
    assert list(CanaryRecord.objects.values_list("name", "phone")) == [("张三丰", PHONE)]


def test_same_value_encrypts_differently_each_time(vault_keys):
    """X-4: a random nonce per value, so equal plaintexts do not give equal ciphertexts."""
    first = encrypt_text("13912348866", "vault.canaryrecord.phone")
    second = encrypt_text("13912348866", "vault.canaryrecord.phone")
    assert first != second
    assert decrypt_text(first, "vault.canaryrecord.phone") == decrypt_text(second, "vault.canaryrecord.phone")


def test_none_and_empty_stay_as_they_are(vault_keys):
    """X-4: None and "" are stored as themselves (nothing to hide, and isnull keeps working)."""
    record = CanaryRecord.objects.create(name="李四", id_number="", phone="", note="")
    assert raw(record, "id_number") == "" and raw(record, "note") == ""
    assert record.id_number_index is None and record.phone_index is None
    fetched = CanaryRecord.objects.get(pk=record.pk)
    assert fetched.id_number == "" and fetched.note == ""
    assert CanaryRecord.objects.filter(unit__isnull=True, name__isnull=False).count() == 1
    field = CanaryRecord._meta.get_field("note")
    assert field.get_prep_value(None) is None
    assert field.from_db_value(None, None, connection) is None


def test_tampered_ciphertext_is_refused_with_clear_error(record):
    """X-4, S-PRIN-3: one flipped byte fails the GCM tag; the error names the column and says why."""
    stored = raw(record, "phone")
    prefix, body = stored.rsplit(":", 1)
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    write_raw(record, "phone", f"{prefix}:{flipped}")
    with pytest.raises(DecryptionError, match="vault.canaryrecord.phone 的密文未通过完整性校验") as caught:
        CanaryRecord.objects.get(pk=record.pk)
    assert isinstance(caught.value.__cause__, InvalidTag)
    write_raw(record, "phone", stored[:-12])
    with pytest.raises(DecryptionError):
        CanaryRecord.objects.get(pk=record.pk)


def test_ciphertext_copied_to_another_column_is_refused(record):
    """X-4, S-PRIN-3: the column is bound into the ciphertext, so a copied value does not decrypt."""
    write_raw(record, "note", raw(record, "phone"))
    with pytest.raises(DecryptionError, match="来自其他字段"):
        CanaryRecord.objects.get(pk=record.pk)
    with pytest.raises(DecryptionError):
        decrypt_text(encrypt_text("x", "clients.client.phone"), "clients.client.note")


def test_forged_key_id_unknown_key_and_plaintext_are_refused(record, settings):
    """X-4: a value claiming another key id, a key no longer configured or plaintext never decrypts."""
    stored = raw(record, "name")
    settings.VAULT_FIELD_KEYS = {"k1": settings.VAULT_FIELD_KEYS["k1"], "k0": bytes(32)}
    write_raw(record, "name", stored.replace("v1:k1:", "v1:k0:"))
    with pytest.raises(DecryptionError, match="未通过完整性校验"):
        CanaryRecord.objects.get(pk=record.pk)
    write_raw(record, "name", stored.replace("v1:k1:", "v1:k7:"))
    with pytest.raises(DecryptionError, match="'k7'，该密钥不在 XINYUAN_FIELD_KEYS 中"):
        CanaryRecord.objects.get(pk=record.pk)
    write_raw(record, "name", "张三丰")
    with pytest.raises(DecryptionError, match="不是 v1 密文格式"):
        CanaryRecord.objects.get(pk=record.pk)


@pytest.mark.parametrize(
    "lookup",
    [
        {"name": "张三丰"},
        {"name__exact": "张三丰"},
        {"name__iexact": "张三丰"},
        {"name__icontains": "三"},
        {"name__startswith": "张"},
        {"name__in": ["张三丰"]},
        {"name__gt": "a"},
        {"note__regex": "失眠"},
        {"name__lower": "张三丰"},
        {"name": None},
    ],
)
def test_lookups_other_than_isnull_are_refused(record, lookup):
    """X-4: a query cannot compare ciphertext with plaintext; the error points to the blind index."""
    with pytest.raises(EncryptedFieldError, match="只支持 isnull.*search_exact"):
        list(CanaryRecord.objects.filter(**lookup))


def test_isnull_lookup_works(record):
    """X-4: isnull is the one lookup an encrypted column answers."""
    assert CanaryRecord.objects.filter(name__isnull=False).get() == record
    assert not CanaryRecord.objects.filter(note__isnull=True).exists()


def test_blind_index_is_keyed_hmac_of_normalised_value(record):
    """X-4: the index is HMAC-SHA256 under XINYUAN_INDEX_KEY of the normalised value, 64 hex digits."""
    expected = hmac.new(I1, ID_NUMBER.encode(), hashlib.sha256).hexdigest()
    assert record.id_number_index == expected
    assert CanaryRecord.objects.values_list("id_number_index", flat=True).get() == expected
    assert blind_index("330106 19900101 123x", normalize_id_number) == expected
    assert blind_index(ID_NUMBER) != blind_index(ID_NUMBER, normalize_phone)
    assert blind_index("") is None and blind_index(None) is None and blind_index("  ", normalize_text) is None


def test_search_exact_and_filter_by_blind_index(record):
    """X-4: exact search finds the row by any spelling the normaliser equates, and nothing else."""
    CanaryRecord.objects.create(name="李四", id_number="110105194912310021", phone="13800138000")
    assert CanaryRecord.objects.search_exact("id_number", "330106199001011 23x").get() == record
    assert CanaryRecord.objects.search_exact("phone", "+86 139-1234-8866").get() == record
    assert CanaryRecord.objects.search_exact("phone_index", "008613912348866").get() == record
    index = blind_index(ID_NUMBER, normalize_id_number)
    assert CanaryRecord.objects.filter(id_number_index=index).get() == record
    assert not CanaryRecord.objects.search_exact("phone", "13912348867").exists()
    assert not CanaryRecord.objects.search_exact("phone", "").exists()
    with pytest.raises(EncryptedFieldError, match="没有盲索引"):
        CanaryRecord.objects.search_exact("name", "张三丰")


def test_every_write_path_keeps_the_blind_index_in_step(record):
    """X-4: save(update_fields), update() and bulk_update() all refresh the index of a changed source."""
    record.phone = "13700000001"
    record.save(update_fields=["phone"])
    assert CanaryRecord.objects.search_exact("phone", "13700000001").get() == record
    CanaryRecord.objects.filter(pk=record.pk).update(phone="13700000002")
    assert CanaryRecord.objects.search_exact("phone", "13700000002").get() == record
    assert not CanaryRecord.objects.search_exact("phone", "13700000001").exists()
    record.phone = "13700000003"
    record.id_number = "110105194912310021"
    CanaryRecord.objects.bulk_update([record], ["phone", "id_number"])
    assert CanaryRecord.objects.search_exact("phone", "13700000003").get() == record
    assert CanaryRecord.objects.search_exact("id_number", "110105194912310021").get() == record
    CanaryRecord.objects.filter(pk=record.pk).update(phone="")
    assert CanaryRecord.objects.get(pk=record.pk).phone_index is None


def test_update_with_expression_on_encrypted_field_is_refused(record):
    """X-4: copying a column with F() would copy ciphertext bound to another column; refused."""
    with pytest.raises(EncryptedFieldError, match="不能用数据库表达式"):
        CanaryRecord.objects.filter(pk=record.pk).update(note=F("name"))
    assert CanaryRecord.objects.get(pk=record.pk).note == NOTE


def test_max_length_limits_the_plaintext(record):
    """X-4: EncryptedCharField validates the plaintext length although the column is TEXT."""
    record.id_number = "1" * 19
    with pytest.raises(ValidationError, match="18"):
        record.full_clean()


def test_fields_deconstruct_for_migrations():
    """X-4: the fields round-trip through deconstruct and serialise with importable normalisers."""
    name_field = CanaryRecord._meta.get_field("name")
    _, path, args, kwargs = name_field.deconstruct()
    assert path == "apps.vault.fields.EncryptedCharField" and kwargs["max_length"] == 50
    rebuilt = EncryptedCharField(*args, **kwargs)
    assert rebuilt.deconstruct()[3] == kwargs
    index_field = CanaryRecord._meta.get_field("id_number_index")
    _, path, args, kwargs = index_field.deconstruct()
    assert kwargs == {"source": "id_number", "normalizer": normalize_id_number}
    assert BlindIndexField(*args, **kwargs).deconstruct()[3] == kwargs
    serialized, imports = MigrationWriter.serialize(index_field)
    assert "apps.vault.normalizers.normalize_id_number" in serialized
    pinned = EncryptedTextField(aad_label="clients.client.note")
    assert pinned.deconstruct()[3] == {"aad_label": "clients.client.note"}
    assert pinned.from_db_value(encrypt_text("旧记录", "clients.client.note"), None, connection) == "旧记录"
    call_command("makemigrations", "vault", "--check", "--dry-run", verbosity=0)


def test_column_types_are_text_and_indexed_hex():
    """X-4: ciphertext lives in TEXT columns; the blind index is an indexed 64-character column."""
    field = CanaryRecord._meta.get_field("id_number")
    assert field.db_type(connection) == connection.data_types["TextField"]
    index = CanaryRecord._meta.get_field("id_number_index")
    assert index.max_length == 64 and index.db_index and index.null and not index.editable


@isolate_apps("apps.vault")
def test_system_checks_catch_misdeclared_fields():
    """X-4: unique/indexed ciphertext, a missing source and a model that cannot keep indexes fail check."""

    class Loose(models.Model):  # noqa: DJ008 - throwaway model for the checks
        secret = EncryptedCharField(max_length=10, unique=True)
        secret_index = BlindIndexField(source="missing")

        class Meta:
            app_label = "vault"

    ids = {error.id for error in Loose.check()}
    assert {"vault.E001", "vault.E002", "vault.E004", "vault.E005"} <= ids

    class Proper(VaultModel):
        secret = EncryptedCharField(max_length=10)
        secret_index = BlindIndexField(source="secret", normalizer="apps.vault.normalizers.normalize_text")

        class Meta:
            app_label = "vault"

    assert [error.id for error in Proper.check() if error.id.startswith("vault.")] == []


@pytest.mark.parametrize(
    ("normalizer", "spellings", "expected"),
    [
        (
            normalize_id_number,
            ["33010619900101123x", " 330106-19900101-123X ", "３３０１０６１９９００１０１１２３ｘ"],
            "33010619900101123X",
        ),
        (
            normalize_phone,
            ["13912348866", "+86 139 1234 8866", "0086-139-1234-8866", "８６１３９１２３４８８６６"],
            "13912348866",
        ),
        (normalize_phone, ["0571-8888 1234", "(0571)88881234"], "057188881234"),
        (normalize_text, ["张三　丰", "  张三 丰 ", "张三\t丰"], "张三 丰"),
    ],
)
def test_normalisers_equate_common_spellings(normalizer, spellings, expected):
    """X-4: spellings a counsellor may type for the same ID, phone or name share one blind index."""
    assert {normalizer(spelling) for spelling in spellings} == {expected}


def test_blind_index_columns_carry_one_equality_index_and_no_like_index():
    """X-4 / performance: a blind index is compared for equality only, so PostgreSQL keeps one btree index
    per column and no ``varchar_pattern_ops`` copy that every insert would also have to maintain."""
    from django.apps import apps

    if connection.vendor != "postgresql":
        pytest.skip("the _like index is a PostgreSQL matter")
    checked = 0
    with connection.cursor() as cursor:
        for model in apps.get_models():
            for field in model._meta.local_fields:
                if not isinstance(field, BlindIndexField):
                    continue
                cursor.execute(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                    [model._meta.db_table, f"%({field.column}%"],
                )
                definitions = [row[0] for row in cursor.fetchall()]
                assert definitions, f"{model._meta.db_table}.{field.column} has no index"
                assert not [d for d in definitions if "pattern_ops" in d], definitions
                checked += 1
    assert checked >= 7
