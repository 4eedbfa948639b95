from tests.authz import Target  # noqa: F401

TARGETS: dict = {}
