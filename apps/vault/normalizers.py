"""Normalisers: what counts as "the same value" for exact search through a blind index.

A blind index hashes the normalised value, so two spellings match only if they normalise alike.
Pass a module-level function (migrations record it by import path) or its dotted path. Changing
a field's normaliser changes its index values: run ``manage.py rotate_keys --new-index-key``.
"""

import unicodedata
from collections.abc import Callable

from django.utils.module_loading import import_string

Normalizer = Callable[[str], str]
DIGITS = frozenset("0123456789")


def normalize_text(value: str) -> str:
    """Apply NFKC, trim and collapse inner whitespace: "张三　丰 " and "张三 丰" match."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def normalize_id_number(value: str) -> str:
    """Drop spaces and hyphens and upper-case: "330106 19900101 123x" → "33010619900101123X".

    Full-width digits and letters become ASCII first (NFKC). No checksum test here: validation
    belongs to the form; the index only has to be stable.
    """
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def normalize_phone(value: str) -> str:
    """Keep the digits and drop the +86 / 0086 / 86 prefix of a mainland mobile number.

    "+86 138-0013-8000" and "13800138000" match; a landline "0571-8888 1234" keeps its area code.
    """
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch in DIGITS)
    for prefix in ("0086", "86"):
        rest = digits[len(prefix) :]
        if digits.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


def resolve_normalizer(normalizer: Normalizer | str | None) -> Normalizer:
    """Return the callable for a normaliser given as a function, a dotted path or None (text)."""
    if normalizer is None:
        return normalize_text
    if isinstance(normalizer, str):
        return import_string(normalizer)
    return normalizer
