"""Masked forms of identity data for screens that need to show whose record it is, not the data.

Every screen and export that shows a person to someone who does not need the full value uses
these: ID number first 4 and last 4 (3301**********1234), mobile first 3 and last 4
(138****5678), name keeps the surname (张*, 欧阳**).
"""

import unicodedata

from django.core.exceptions import ValidationError

from .names import HAN, split_surname
from .phones import format_phone, normalize_mobile


def _mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[len(text) - keep_end :]


def mask_id(number) -> str:
    """X-2: 330106199001011234 → 3301**********1234; too short to keep both ends → all stars."""
    text = unicodedata.normalize("NFKC", str(number or "")).strip().upper()
    return _mask_middle(text, 4, 4)


def mask_mobile(mobile) -> str:
    """X-2: 13856785678 (or +86 138-5678-5678) → 138****5678; other numbers keep 3 and 4 characters,
    a mainland landline counted in national form: +8657187654321 → 057*****4321."""
    text = unicodedata.normalize("NFKC", str(mobile or "")).strip()
    if not text:
        return ""
    try:
        text = normalize_mobile(text)
    except ValidationError:
        # a landline in national form (+8657187654321 → 057187654321), not E.164 with its +86
        text = format_phone(text).replace(" ", "").replace("-", "")
    return _mask_middle(text, 3, 4)


def mask_name(name) -> str:
    """X-2: keep the surname, star the rest: 张三 → 张*, 欧阳娜娜 → 欧阳**, John Smith → J*** *****.

    Separators (spaces, the · of transcribed names) stay, so the shape of the name is kept.
    """
    text = unicodedata.normalize("NFKC", str(name or "")).strip()
    surname, rest = split_surname(text)
    if not surname:
        surname, rest = text[:1], text[1:]
    return surname + "".join("*" if (HAN.match(c) or c.isalnum()) else c for c in rest)
