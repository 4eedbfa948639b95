"""X-2: resident ID numbers, phone numbers, pinyin search keys and masks."""

import dataclasses
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from pypinyin import Style, lazy_pinyin

from apps.identity import (
    Gender,
    mask_id,
    mask_mobile,
    mask_name,
    normalize_mobile,
    normalize_phone,
    pinyin_keys,
    split_surname,
    validate_resident_id,
)

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def with_check(body: str) -> str:
    """Append the GB 11643 MOD 11-2 check character, computed here independently of stdnum."""
    total = sum(int(digit) * weight for digit, weight in zip(body, WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def wrong_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


# --- Resident ID -------------------------------------------------------------------------------


def test_standard_example_with_x():
    """X-2: the GB 11643 example number ends in X; birth date and gender are derived."""
    rid = validate_resident_id("11010519491231002X")
    assert rid.number == "11010519491231002X"
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.gender == Gender.FEMALE  # 17th digit 2 is even
    assert rid.region_code == "110105"


@pytest.mark.parametrize(
    "value", ["11010519491231002x", " 11010519491231002X ", "１１０１０５１９４９１２３１００２ｘ"]
)
def test_lower_case_x_spaces_and_full_width_are_normalised(value):
    """X-2: a lower-case x, spaces and full-width digits are accepted and normalised."""
    assert validate_resident_id(value).number == "11010519491231002X"


def test_gender_from_the_17th_digit():
    """X-2: an odd 17th digit is male, an even one female."""
    male = with_check("33010619900307123")
    female = with_check("33010619900307124")
    assert validate_resident_id(male).gender == Gender.MALE
    assert validate_resident_id(female).gender == Gender.FEMALE


def test_every_check_character_is_verified():
    """X-2: exactly one check character is right; every other one is refused as a wrong checksum."""
    body = "33010619900307123"
    right = with_check(body)[-1]
    for candidate in "0123456789X":
        number = body + candidate
        if candidate == right:
            assert validate_resident_id(number).number == number
        else:
            with pytest.raises(ValidationError, match="身份证号码校验位不正确") as caught:
                validate_resident_id(number)
            assert caught.value.code == "checksum"


def test_legacy_15_digit_number_is_converted():
    """X-2: a 15-digit number gains the century 19 and a check character."""
    rid = validate_resident_id("110105491231002")
    assert rid.number == "11010519491231002X"
    assert rid.birth_date == dt.date(1949, 12, 31) and rid.gender == Gender.FEMALE
    male = validate_resident_id("330106800101013")
    assert male.number == with_check("33010619800101013") and male.gender == Gender.MALE


def test_region_created_after_birth_is_accepted():
    """X-2: numbers are issued at registration; Hangzhou Xihu (330106, since 1983) and Hainan
    (46, since 1988) carry people born before their codes existed."""
    assert validate_resident_id(with_check("33010619500101001")).birth_date == dt.date(1950, 1, 1)
    assert validate_resident_id(with_check("46010019700101001")).region_code == "460100"


def test_residence_permits_of_hong_kong_macao_taiwan_are_accepted():
    for region in ("810000", "820000", "830000"):
        assert validate_resident_id(with_check(f"{region}19900101001")).region_code == region


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("", "required", "请填写身份证号码"),
        (None, "required", "请填写身份证号码"),
        ("1101051949123100", "length", "应为18位（旧证为15位），现在是16位"),
        ("11010519491231002Y", "format", "只能由数字组成，最后一位可以是X"),
        ("1101051949123X002X", "format", "只能由数字组成"),
        ("11010549123100X", "format", "15位旧身份证号码只能由数字组成"),
        (wrong_check("11010519491231002X"), "checksum", "身份证号码校验位不正确"),
        (with_check("11010519900230001"), "birth_date", "出生日期（19900230）不存在"),
        (with_check("11010518991231001"), "birth_date", "早于1900年"),
        (with_check("11010520990101001"), "birth_date_future", "出生日期晚于今天"),
        (with_check("99010519900101001"), "region", "地区代码不存在"),
        (with_check("12345619900101001"), "region", "地区代码不存在"),
        ("110105991301002", "birth_date", "不存在"),
    ],
)
def test_bad_numbers_are_refused_in_chinese(value, code, message):
    """X-2: every kind of bad number gets its own Chinese message."""
    with pytest.raises(ValidationError, match=message) as caught:
        validate_resident_id(value)
    assert caught.value.code == code


def test_birth_date_today_is_accepted_and_tomorrow_refused():
    """X-2: a birth date must not be in the future."""
    number = with_check("11010520260315001")
    assert validate_resident_id(number, today=dt.date(2026, 3, 15)).birth_date == dt.date(2026, 3, 15)
    with pytest.raises(ValidationError, match="晚于今天"):
        validate_resident_id(number, today=dt.date(2026, 3, 14))


def test_resident_id_is_frozen():
    rid = validate_resident_id("11010519491231002X")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rid.number = "x"


# --- Phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "+86 138-0013-8000",
        "13800138000",
        "8613800138000",
        "008613800138000",
        "(+86) 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_mobile_formats_are_normalised(value):
    """X-2: the usual ways of writing a mainland mobile give its 11-digit national form."""
    assert normalize_mobile(value) == "13800138000"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请填写手机号码"),
        ("0571-87654321", "这是固定电话号码，请填写手机号码"),
        ("010-65123456", "这是固定电话号码"),
        ("400-810-8888", "这不是手机号码"),
        ("1380013800", "手机号码无效"),
        ("12345678901", "手机号码无效"),
        ("+852 6123 4567", "请填写中国大陆手机号码"),
        ("138abc00138", "只能包含数字"),
    ],
)
def test_landlines_and_invalid_mobiles_are_refused(value, message):
    """X-2: a landline or an invalid number is refused with a Chinese message."""
    with pytest.raises(ValidationError, match=message):
        normalize_mobile(value)


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("0571-87654321", "+8657187654321"),
        ("(0571) 8765 4321", "+8657187654321"),
        ("+86 571 8765 4321", "+8657187654321"),
        ("010-65123456", "+861065123456"),
        ("13800138000", "+8613800138000"),
        ("+852 6123 4567", "+85261234567"),
    ],
)
def test_phone_accepts_landlines_and_returns_e164(value, e164):
    """X-2: landlines with area code and mobiles are kept in E.164."""
    assert normalize_phone(value) == e164


@pytest.mark.parametrize(
    ("value", "message"),
    [("87654321", "固定电话请加区号"), ("12345", "电话号码无效"), ("", "请填写电话号码"), ("电话", "只能包含")],
)
def test_bad_phone_is_refused(value, message):
    with pytest.raises(ValidationError, match=message):
        normalize_phone(value)


# --- Pinyin ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("曾小贤", "zengxiaoxian", "zxx"),
        ("单田芳", "shantianfang", "stf"),
        ("仇和", "qiuhe", "qh"),
        ("解缙", "xiejin", "xj"),
        ("查良镛", "zhaliangyong", "zly"),
        ("区家麟", "oujialin", "ojl"),
        ("朴树", "piaoshu", "ps"),
        ("乐嘉", "yuejia", "yj"),
        ("缪可馨", "miaokexin", "mkx"),
        ("秘欣", "bixin", "bx"),
        ("盖聂", "genie", "gn"),
        ("葛优", "geyou", "gy"),
        ("种师道", "chongshidao", "csd"),
        ("翟志刚", "zhaizhigang", "zzg"),
        ("覃海洋", "qinhaiyang", "qhy"),
        ("黑明", "heming", "hm"),
        ("能清", "naiqing", "nq"),
        ("繁钦", "poqin", "pq"),
        ("员半千", "yunbanqian", "ybq"),
        ("折克行", "shekexing", "skx"),
        ("句龙", "goulong", "gl"),
        ("尉迟恭", "yuchigong", "ycg"),
        ("万俟卨", "moqixie", "mqx"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
        ("欧阳娜娜", "ouyangnana", "oynn"),
        ("单于飞", "shanyufei", "syf"),  # 单 + 于飞, not the title 单于
    ],
)
def test_surname_readings(name, full, initials):
    """X-2: surnames are read as surnames: 曾小贤 → zxx, 单田芳 → stf, 仇 → q, compound surnames whole."""
    assert pinyin_keys(name) == (full, initials)


def test_surname_reading_applies_to_the_first_character_only():
    """X-2: 曾 in the given name keeps its everyday reading."""
    assert pinyin_keys("小曾") == ("xiaoceng", "xc")
    assert pinyin_keys("曾曾") == ("zengceng", "zc")


@pytest.mark.parametrize("name", ["张三", "王小明", "刘德华", "李娜", "诸葛亮", "吕布"])
def test_ordinary_names_match_pypinyin(name):
    """X-2: for ordinary names the keys are exactly pypinyin's NORMAL and FIRST_LETTER styles."""
    assert pinyin_keys(name) == (
        "".join(lazy_pinyin(name, style=Style.NORMAL)),
        "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)),
    )


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("John Smith", "johnsmith", "js"),
        ("José 李", "joseli", "jl"),
        ("买买提·吐尔逊", "maimaitituerxun", "mmttex"),
        (" 张 三 ", "zhangsan", "zs"),
        ("ＡＢ张三", "abzhangsan", "azs"),
        ("李2号", "lihao", "lh"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_non_chinese_characters(name, full, initials):
    """X-2: Latin letters are kept lower-cased, one word one initial; digits and punctuation dropped."""
    assert pinyin_keys(name) == (full, initials)


def test_split_surname():
    assert split_surname("欧阳娜娜") == ("欧阳", "娜娜")
    assert split_surname("欧阳") == ("欧", "阳")
    assert split_surname("张三") == ("张", "三")
    assert split_surname("John") == ("", "John")


# --- Masks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("330106199001011234", "3301**********1234"),
        ("11010519491231002x", "1101**********002X"),
        ("110105491231002", "1101*******1002"),
        ("1234", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id(value, masked):
    """X-2: ID numbers show the first 4 and the last 4 characters."""
    assert mask_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13856785678", "138****5678"),
        ("+86 138-5678-5678", "138****5678"),
        ("0571-87654321", "057*****4321"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_mask_mobile(value, masked):
    """X-2: mobiles show the first 3 and the last 4 digits."""
    assert mask_mobile(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三", "张*"),
        ("张小明", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("司马光", "司马*"),
        ("欧阳", "欧*"),
        ("张", "张"),
        ("John Smith", "J*** *****"),
        ("买买提·吐尔逊", "买**·***"),
        ("", ""),
    ],
)
def test_mask_name(value, masked):
    """X-2: names keep the surname (compound surnames whole) and star the rest."""
    assert mask_name(value) == masked
