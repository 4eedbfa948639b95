"""Shared pieces of the authorization matrix (tests/test_authorization_matrix.py).

An app describes its own URLs in ``apps/<app>/tests/matrix_targets.py`` as a ``TARGETS`` dict of
URL name → ``Target``; the matrix merges them. A target function receives the matrix's ``World``
(``world.client[unit.pk]`` is a client registered in that unit, ``world.resident[unit.pk]`` an
account whose home unit it is) and the unit the request must aim at, and returns URL kwargs.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps as django_apps


@dataclass
class Target:
    """How to aim a URL at an object located in a given unit."""

    kwargs: Callable | None = None  # (world, unit) -> URL kwargs; None for collection URLs
    body: Callable | None = None  # (world, unit) -> POST body that targets that unit
    global_object: bool = False  # not unit-owned (e.g. roles): position does not matter
    foreign_object: bool = False  # owned by another person (their notification, their export): always denied


def app_targets() -> dict:
    """Collect ``TARGETS`` from every ``apps.<app>.tests.matrix_targets`` module."""
    targets = {}
    for config in django_apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.matrix_targets")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.tests.matrix_targets":
                raise
            continue
        targets.update(module.TARGETS)
    return targets
