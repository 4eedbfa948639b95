"""Fixed test keys, so tests can switch keys the way an operator does."""

import pytest

K1 = bytes(range(32))
K2 = bytes(range(32, 64))
I1 = bytes(range(64, 96))
I2 = bytes(range(96, 128))


@pytest.fixture
def vault_keys(settings):
    """Field key k1 and index key I1, no previous index key: a configured production-like vault."""
    settings.VAULT_FIELD_KEYS = {"k1": K1}
    settings.VAULT_INDEX_KEY = I1
    settings.VAULT_INDEX_KEY_PREVIOUS = None
    settings.VAULT_DEVELOPMENT_KEYS = False
    return settings
