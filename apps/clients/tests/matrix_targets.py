"""How the authorization matrix aims the guardian URLs of the client register at a unit (S-CLIENT-4).

The register's older URLs are described in tests/test_authorization_matrix.py itself.
"""

from tests.authz import Target


def client_pk(world, unit):
    return {"pk": world.client[unit.pk].pk}


def guardian_pk(world, unit):
    from apps.clients.models import Guardian

    client = world.client[unit.pk]
    guardian = Guardian.objects.filter(client=client).first()
    if guardian is None:
        guardian = Guardian.objects.create(client=client, name="矩阵监护人", relationship="母亲", phone="13900139000")
    return {"pk": guardian.pk}


TARGETS = {
    "clients:guardian-add": Target(client_pk),
    "clients:guardian-edit": Target(guardian_pk),
    "clients:guardian-end": Target(guardian_pk),
}
