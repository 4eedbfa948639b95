"""Chinese identity data (X-2): resident ID numbers, phone numbers, pinyin search keys, masking.

A plain package, no models: ``from apps.identity import validate_resident_id, normalize_mobile,
pinyin_keys, mask_name``. Every function raises ``django.core.exceptions.ValidationError`` with a
Chinese message on bad input.
"""

from .choices import Gender
from .masks import mask_id, mask_mobile, mask_name
from .names import pinyin_keys, split_surname
from .phones import format_phone, normalize_mobile, normalize_phone
from .resident_id import ResidentId, validate_resident_id

__all__ = [
    "Gender",
    "format_phone",
    "ResidentId",
    "mask_id",
    "mask_mobile",
    "mask_name",
    "normalize_mobile",
    "normalize_phone",
    "pinyin_keys",
    "split_surname",
    "validate_resident_id",
]
