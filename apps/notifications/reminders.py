"""The registry of "due reminder" providers that the 15-minute scan asks.

A provider is a function ``provider(now) -> iterable`` that yields what is due *now*, each as a
``DueReminder`` or a plain tuple ``(user, template, context, url, dedupe_key)`` (optionally a sixth
item, the channels). It may yield the same reminder on every scan: each one is sent once, since
``"<provider name>:<dedupe_key>"`` is stored in ``SentReminder``. A provider only reads; it must
not send anything itself.

A module registers its provider in its ``AppConfig.ready()``::

    def ready(self):
        from apps.notifications.reminders import register_reminder_provider
        from .reminders import appointments_starting_soon

        register_reminder_provider("appointments.upcoming", appointments_starting_soon)

and writes the provider as a query over stored deadlines, e.g.::

    def appointments_starting_soon(now):
        for a in Appointment.objects.filter(start__range=(now, now + timedelta(hours=24))):
            yield DueReminder(a.counsellor, "appointment_reminder", {"start": a.start},
                              f"/appointments/{a.pk}/", f"{a.pk}:24h", ("inapp", "sms"))
"""

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured


class DueReminder(NamedTuple):
    """One reminder a provider reports as due."""

    user: Any
    template: str
    context: dict
    url: str
    dedupe_key: str
    channels: tuple[str, ...] = ("inapp",)


Provider = Callable[[Any], Iterable]

_PROVIDERS: dict[str, Provider] = {}


def register_reminder_provider(name: str, provider: Provider) -> Provider:
    """Register ``provider`` under ``name`` (e.g. "appointments.upcoming"); names are unique."""
    if not name or ":" in name:
        raise ImproperlyConfigured("A reminder provider needs a name without ':'")
    existing = _PROVIDERS.get(name)
    if existing is not None and existing is not provider:
        raise ImproperlyConfigured(f"Reminder provider {name!r} is already registered")
    _PROVIDERS[name] = provider
    return provider


def unregister_reminder_provider(name: str) -> None:
    """Remove a provider (tests, or a module switched off)."""
    _PROVIDERS.pop(name, None)


def reminder_providers() -> dict[str, Provider]:
    return dict(_PROVIDERS)


def as_due_reminder(item) -> DueReminder:
    """Accept a ``DueReminder`` or a 5- or 6-item tuple."""
    if isinstance(item, DueReminder):
        return item
    if isinstance(item, tuple) and len(item) in (5, 6):
        return DueReminder(*item)
    raise TypeError(f"A reminder provider yielded {item!r}; expected (user, template, context, url, dedupe_key)")
