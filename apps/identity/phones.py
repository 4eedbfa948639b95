"""Phone numbers with Google's libphonenumber data (the ``phonenumbers`` package).

``normalize_mobile`` accepts only mainland China mobile numbers (SMS reminders go through
mainland gateways) and returns the 11-digit national form; ``normalize_phone`` accepts any valid
number — a mainland landline with its area code, a mobile, a Hong Kong number with +852 — and
returns E.164 (``+8657187654321``).
"""

import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import PhoneNumberType

ALLOWED = re.compile(r"^[+\d\s\-().]+$")
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
LANDLINE_TYPES = {PhoneNumberType.FIXED_LINE}
CHINA = 86


def _parse(value, what: str) -> phonenumbers.PhoneNumber:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise ValidationError(f"请填写{what}。", code="required")
    if not ALLOWED.match(text):
        raise ValidationError(f"{what}只能包含数字、空格、+、- 和括号。", code="format")
    try:
        return phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError(f"{what}格式不正确，请核对后重新输入。", code="format") from None


def normalize_mobile(value) -> str:
    """X-2: a mainland mobile number as 11 digits (``13800138000``), or a Chinese error.

    Accepts ``+86 138-0013-8000``, ``8613800138000``, ``0086…`` and full-width digits.
    """
    number = _parse(value, "手机号码")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("手机号码无效，请填写11位手机号码，如 13800138000。", code="invalid")
    kind = phonenumbers.number_type(number)
    if number.country_code != CHINA:
        raise ValidationError("请填写中国大陆手机号码。", code="not_mainland")
    if kind not in MOBILE_TYPES:
        message = "这是固定电话号码，请填写手机号码。" if kind in LANDLINE_TYPES else "这不是手机号码，请填写手机号码。"
        raise ValidationError(message, code="not_mobile")
    return str(number.national_number)


def normalize_phone(value) -> str:
    """X-2: any valid phone number — mobile or landline with area code — in E.164, or a Chinese error."""
    number = _parse(value, "电话号码")
    if not phonenumbers.is_valid_number(number):
        digits = str(number.national_number)
        if number.country_code == CHINA and len(digits) in (7, 8) and not digits.startswith("1"):
            raise ValidationError("固定电话请加区号，如 0571-87654321。", code="area_code")
        raise ValidationError("电话号码无效，请核对后重新输入。", code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value) -> str:
    """X-2: a stored phone number as people write it in China, for display.

    A mainland mobile is 11 digits (``13800138000``); a mainland landline is national format with the
    area code (``+8657187654321`` → ``0571-8765 4321``); other numbers are international format
    (``+852 2345 6789``). Anything that does not parse is returned unchanged.
    """
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    if number.country_code != CHINA:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if phonenumbers.number_type(number) in MOBILE_TYPES:
        return str(number.national_number)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national.replace(" ", "-", 1)
