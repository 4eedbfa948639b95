"""How the authorization matrix aims the accounts URLs added for issue 14 at an object in a given unit
(the older accounts URLs are described in tests/test_authorization_matrix.py)."""

from tests.authz import Target


def _user_pk(world, unit):
    return {"pk": world.resident[unit.pk].pk}


def _grant_request_pk(world, unit):
    from apps.accounts.models import GrantRequest, Role

    row, _ = GrantRequest.objects.get_or_create(
        user=world.resident[unit.pk],
        unit=unit,
        role=Role.objects.get(code="psychiatrist"),
        status=GrantRequest.PENDING,
        defaults={"reason": "矩阵授予申请"},
    )
    return {"pk": row.pk}


def _api_token_pk(world, unit):
    """A token of the account living in ``unit``: someone else's for every persona (issue 14 item 3)."""
    from apps.accounts.models import ApiToken
    from apps.accounts.tokens import do_create_token

    resident = world.resident[unit.pk]
    token = ApiToken.objects.filter(user=resident).first() or do_create_token(actor=resident, name="矩阵令牌")[0]
    return {"pk": token.pk}


def _grant_request_body(world, unit):
    from apps.accounts.models import Role

    return {
        "user": world.resident[unit.pk].pk,
        "unit": unit.pk,
        "role": Role.objects.get(code="counsellor").pk,
        "reason": "矩阵授予申请",
    }


def _governed_assignment_pk(world, unit):
    """An audit administrator post at ``unit`` (only the security administrator removes it)."""
    from apps.accounts.models import Assignment, Role, User

    auditor, _ = User.objects.get_or_create(
        username=f"mx_audit_{unit.pk}", defaults={"full_name": "矩阵审计员", "unit": unit}
    )
    row, _ = Assignment.objects.get_or_create(user=auditor, unit=unit, role=Role.objects.get(code="audit_admin"))
    return {"pk": row.pk}


TARGETS = {
    "accounts:user-security-assign": Target(_user_pk),
    "accounts:assignment-security-revoke": Target(_governed_assignment_pk),
    "accounts:user-security-password": Target(_user_pk),
    "accounts:grant-request-create": Target(_user_pk),
    "accounts:grant-request-list": Target(),
    "accounts:grant-request-decide": Target(_grant_request_pk),
    "grant-request-list": Target(body=_grant_request_body),
    "grant-request-detail": Target(_grant_request_pk),
    "grant-request-pending": Target(),
    "grant-request-approve": Target(_grant_request_pk),
    "grant-request-refuse": Target(_grant_request_pk),
    # issue 14 item 3: API tokens — the security administrator revokes others'; the API shows only one's own
    "accounts:user-tokens-revoke": Target(_user_pk),
    "apitoken-list": Target(),
    "apitoken-detail": Target(_api_token_pk, foreign_object=True),
}
