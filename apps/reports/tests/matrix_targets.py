from tests.authz import Target

TARGETS = {"reports:summary": Target()}
