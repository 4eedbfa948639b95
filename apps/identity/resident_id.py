"""Chinese resident identity numbers (GB 11643-1999): checksum, legacy form, birth date, gender.

Checks, in the order a person mistyping would want to hear about them: length and characters,
the MOD 11-2 check character, the birth date, the region code.

The region code must be one that has existed (python-stdnum's table of administrative division
codes) — not necessarily at the birth date: numbers are issued at registration, often years after
birth and after the code was created (Hainan's 46 dates from 1988, Hangzhou Xihu's 330106 from
1983), so stdnum's own "valid at birth" test would refuse real people. The codes of residence
permits for Hong Kong, Macao and Taiwan residents (810000, 820000, 830000) are accepted too.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum import numdb
from stdnum.cn import ric

from .choices import Gender

RESIDENCE_PERMIT_REGIONS = {"810000", "820000", "830000"}
EARLIEST_BIRTH = dt.date(1900, 1, 1)
NUMBER_18 = re.compile(r"^\d{17}[\dX]$")
NUMBER_15 = re.compile(r"^\d{15}$")


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number (always 18 characters, upper-case X) and what it encodes."""

    number: str
    birth_date: dt.date
    gender: Gender

    @property
    def region_code(self) -> str:
        return self.number[:6]

    def __str__(self):
        return self.number


def _region_known(code: str) -> bool:
    if code in RESIDENCE_PERMIT_REGIONS:
        return True
    props = {key for _part, info in numdb.get("cn/loc").info(code) for key in info}
    return {"province", "county"} <= props


def validate_resident_id(value, *, today: dt.date | None = None) -> ResidentId:
    """X-2: check a resident ID number and derive birth date and gender, or raise in Chinese.

    Accepts full-width digits, spaces anywhere (``330106 19800101 0312``, also full-width) and a
    lower-case x; a 15-digit legacy number
    (issued before 1999 to people born in the 1900s) is converted to its 18-digit form.
    """
    # every kind of space a pasted number may carry (full-width space is a space after NFKC)
    number = "".join(unicodedata.normalize("NFKC", str(value or "")).split()).upper()
    if not number:
        raise ValidationError("请填写身份证号码。", code="required")
    if len(number) not in (15, 18):
        raise ValidationError(f"身份证号码应为18位（旧证为15位），现在是{len(number)}位。", code="length")
    if len(number) == 15:
        if not NUMBER_15.match(number):
            raise ValidationError("15位旧身份证号码只能由数字组成。", code="format")
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    elif not NUMBER_18.match(number):
        raise ValidationError("身份证号码只能由数字组成，最后一位可以是X。", code="format")
    elif number[-1] != ric.calc_check_digit(number):
        raise ValidationError("身份证号码校验位不正确，请核对后重新输入。", code="checksum")
    try:
        birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            f"身份证号码中的出生日期（{number[6:14]}）不存在，请核对后重新输入。", code="birth_date"
        ) from None
    if birth_date < EARLIEST_BIRTH:
        raise ValidationError("身份证号码中的出生日期早于1900年，请核对后重新输入。", code="birth_date")
    if birth_date > (today or timezone.localdate()):
        raise ValidationError("身份证号码中的出生日期晚于今天，请核对后重新输入。", code="birth_date_future")
    if not _region_known(number[:6]):
        raise ValidationError("身份证号码前6位的地区代码不存在，请核对后重新输入。", code="region")
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return ResidentId(number=number, birth_date=birth_date, gender=gender)
