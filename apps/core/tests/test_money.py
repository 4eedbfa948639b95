"""The one amount parser and the one money format (apps.core.money), shared by membership and projects."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from apps.core.money import AmountField, format_money, parse_amount


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1200", "1200.00"),
        ("１２００", "1200.00"),
        ("１，２００．５０", "1200.50"),
        ("1 234.5", "1234.50"),
        ("１２００\u3000元", "1200.00"),
        ("￥99", "99.00"),
        ("¥ 1,000,000", "1000000.00"),
        (Decimal("3.1"), "3.10"),
        (250, "250.00"),
    ],
)
def test_parse_amount_reads_what_people_type(typed, expected):
    """H-MEM-3, H-PROJ-1: full-width digits and punctuation, spaces, ¥/元 and thousands separators are read."""
    assert parse_amount(typed) == Decimal(expected)


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "请填写"), ("abc", "应为数字"), ("1.234", "两位小数"), ("-5", "负数"), ("0", "大于零"), ("1e5", "应为数字")],
)
def test_parse_amount_refuses_with_a_chinese_message(typed, message):
    """H-MEM-3, H-PROJ-1: a refusal names the field and says why."""
    with pytest.raises(ValidationError, match=message) as refused:
        parse_amount(typed, "金额")
    assert refused.value.code == "amount"


def test_limits_and_zero():
    """H-MEM-3: zero only when allowed; an upper bound is stated in the one money format."""
    assert parse_amount("0", allow_zero=True) == Decimal("0.00")
    with pytest.raises(ValidationError, match="¥100,000.00"):
        parse_amount("100000.01", max_amount=Decimal("100000"))


def test_one_money_format():
    """H-PROJ-1: every amount reads ¥1,234.00; blank stays blank."""
    assert format_money(Decimal("1234")) == "¥1,234.00"
    assert format_money("-12.5") == "-¥12.50"
    assert format_money(None) == "" and format_money("—") == "—"
    html = Template("{% load money %}{{ a|money }}").render(Context({"a": Decimal("1234567.891")}))
    assert html == "¥1,234,567.89"


def test_amount_field_cleans_full_width_input():
    """H-MEM-3: the form field keeps the typed text and cleans it with parse_amount."""
    field = AmountField(label="金额（元）")
    assert field.clean("２００") == Decimal("200.00")
    with pytest.raises(ValidationError, match="金额（元）应为数字"):
        field.clean("两百")
