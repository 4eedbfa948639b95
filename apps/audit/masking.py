"""The registry of sensitive fields: their values never reach the audit log in clear.

A field is registered by name for every model (``password``) or for one model
(``register_sensitive("clients.client", "id_number", mask_id_number)``). ``mask_changes``
replaces the before/after values of every registered field with ``"***"`` or a masked form
(``138****5678``), so the log still shows *that* the value changed but not what it is.
Empty values (``None``, ``""``) stay as they are: they reveal nothing and show set/unset.
"""

from collections.abc import Callable

from apps.identity.masks import mask_id, mask_mobile

HIDDEN = "***"

Masker = Callable[[object], object]


def hide(value):
    """Replace any non-empty value by ``***``."""
    if value is None or value == "":
        return value
    return HIDDEN


def mask_middle(keep_start: int, keep_end: int) -> Masker:
    """A masker that keeps ``keep_start`` leading and ``keep_end`` trailing characters."""

    def mask(value):
        if value is None or value == "":
            return value
        text = str(value)
        if len(text) <= keep_start + keep_end:
            return HIDDEN
        return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[len(text) - keep_end :]

    return mask


def mask_phone(value):
    """138****5678, the same form every screen shows (apps.identity.masks)."""
    return value if value in (None, "") else mask_mobile(value)


def mask_id_number(value):
    """3301**********1234, the same form every screen shows (apps.identity.masks)."""
    return value if value in (None, "") else mask_id(value)


# Field names that are sensitive in any model.
_global: dict[str, Masker] = {
    "password": hide,
    "secret": hide,
    "token": hide,
    "key": hide,
    "api_key": hide,
    "otp_secret": hide,
    "mobile": mask_phone,
    "phone": mask_phone,
    "telephone": mask_phone,
    "guardian_phone": mask_phone,
    "id_number": mask_id_number,
    "id_card": mask_id_number,
    "address": hide,
    "home_address": hide,
    "notes": hide,
    "session_notes": hide,
}
# (model label in lower case, field name) → masker.
_per_model: dict[tuple[str, str], Masker] = {}


def register_sensitive(model: str | None, field: str, masker: Masker = hide) -> None:
    """Mark ``field`` of ``model`` (``"app_label.modelname"``, or None for every model) as sensitive."""
    if model is None:
        _global[field] = masker
    else:
        _per_model[(model.lower(), field)] = masker


def _is_encrypted(model: str, field: str) -> bool:
    """Whether ``field`` of ``model`` is encrypted at rest (or is a blind index of such a field)."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    try:
        model_field = apps.get_model(model)._meta.get_field(field)
    except (LookupError, ValueError, FieldDoesNotExist):
        return False
    from apps.vault.fields import BlindIndexField, EncryptedFieldMixin

    return isinstance(model_field, EncryptedFieldMixin | BlindIndexField)


def masker_for(model: str, field: str) -> Masker | None:
    """The masker for ``field`` of ``model``, or None when the field is not sensitive.

    Registered fields use their masker; any other field encrypted at rest is hidden, so what the
    vault protects in the table never reaches the log in clear.
    """
    masker = _per_model.get((model.lower(), field)) or _global.get(field)
    if masker is None and model and _is_encrypted(model, field):
        return hide
    return masker


def mask_changes(model: str, changes: dict) -> dict:
    """Return ``changes`` with every sensitive field's values masked.

    ``changes`` maps a field to ``{"before": x, "after": y}`` (or to a bare value); the shape is kept.
    """
    masked = {}
    for field, value in changes.items():
        masker = masker_for(model, str(field))
        if masker is None:
            masked[field] = value
        elif isinstance(value, dict) and set(value) <= {"before", "after"}:
            masked[field] = {side: masker(v) for side, v in value.items()}
        else:
            masked[field] = masker(value)
    return masked
