"""Amounts of money (元): one parser for what people type, one format for what they read.

People paste amounts from Word, spreadsheets and Chinese input methods: full-width digits (１２００),
full-width punctuation (１，２００．５０), ideographic spaces, "¥"/"￥" and a trailing "元". ``parse_amount``
accepts all of these and returns a ``Decimal`` with two places; ``format_money`` (the ``money`` template filter,
``{% load money %}``) shows every amount the same way: ``¥1,234.00``.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

CENT = Decimal("0.01")
DEFAULT_MAX = Decimal("99999999.99")
_AMOUNT_RE = re.compile(r"-?\d{1,12}(\.\d+)?")
_SPACES_RE = re.compile(r"\s+")


def normalize_amount_text(value) -> str:
    """Full-width → half-width, drop spaces, thousands separators, currency sign and trailing 元."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    text = _SPACES_RE.sub("", text).replace(",", "").replace("_", "")
    if text[:1] in ("¥", "￥"):  # NFKC maps ￥ to ¥
        text = text[1:]
    elif text[:2] in ("-¥", "-￥"):
        text = "-" + text[2:]
    if text.endswith("元"):
        text = text[:-1]
    return text


def parse_amount(
    value,
    label: str = "金额",
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
    max_amount: Decimal | None = DEFAULT_MAX,
    code: str = "amount",
) -> Decimal:
    """A yuan amount with at most two decimals, from a string, int or Decimal.

    Raises ``ValidationError(code=code)`` with a Chinese message naming ``label``.
    """
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        text = normalize_amount_text(value)
        if not text:
            raise ValidationError(f"请填写{label}。", code=code)
        if not _AMOUNT_RE.fullmatch(text):
            raise ValidationError(f"{label}应为数字，如 1200 或 350.50（可用全角数字）。", code=code)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError(f"{label}应为数字。", code=code) from None
    if not amount.is_finite():
        raise ValidationError(f"{label}应为数字。", code=code)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationError(f"{label}最多保留两位小数。", code=code)
    if amount < 0 and not allow_negative:
        raise ValidationError(f"{label}不能为负数。", code=code)
    if amount == 0 and not allow_zero:
        raise ValidationError(f"{label}应大于零。", code=code)
    if max_amount is not None and abs(amount) > max_amount:
        raise ValidationError(f"{label}不能超过 {format_money(max_amount)}。", code=code)
    return amount.quantize(CENT)


def format_money(value, *, sign: str = "¥") -> str:
    """The one display format: ``¥1,234.00`` (``-¥1,234.00``); empty for None/blank, unchanged if not a number."""
    if value is None or value == "":
        return ""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(normalize_amount_text(value))
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    if not amount.is_finite():
        return str(value)
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    minus = "-" if amount < 0 else ""
    return f"{minus}{sign}{abs(amount):,.2f}"


class AmountField(forms.CharField):
    """Form field for an amount of yuan: text input (so full-width digits survive), cleaned by ``parse_amount``."""

    def __init__(self, *, allow_zero=False, max_amount=DEFAULT_MAX, **kwargs):
        self.allow_zero, self.max_amount = allow_zero, max_amount
        kwargs.pop("max_length", None)  # the cleaned value is a Decimal: no length validator on it
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("maxlength", "40")
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("placeholder", "如 1200 或 350.50")

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if len(value) > 40:
            raise ValidationError(f"{self.label or '金额'}过长。", code="amount")
        return parse_amount(value, str(self.label or "金额"), allow_zero=self.allow_zero, max_amount=self.max_amount)
