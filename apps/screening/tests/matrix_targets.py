"""The screening module's URLs in the authorization matrix (tests/test_authorization_matrix.py)."""

from tests.authz import Target


def batch_pk(world, unit):
    from apps.screening.models import ImportBatch

    row = ImportBatch.objects.model(
        unit=unit, unit_path=unit.path, scope_path=unit.path, uploaded_by=world.resident[unit.pk],
        file_name="矩阵.xlsx", stored_name="matrix.xlsx", status="failed",
    )  # fmt: skip
    row.save()
    return {"pk": row.pk}


def record_body(world, unit):
    return {
        "unit": unit.pk,
        "name": "矩阵排查人员",
        "screened_on": "2026-01-05",
        "source": "routine",
        "risk_level": "low",
    }


TARGETS = {
    "screening:record-list": Target(),
    "screening:record-create": Target(body=record_body),
    "screening:batch-list": Target(body=lambda w, u: {"unit": u.pk}),
    "screening:batch-detail": Target(batch_pk),
    "screening:batch-status": Target(batch_pk),
    "screening:batch-report": Target(batch_pk),
    "screening:template": Target(),
    "screeningrecord-list": Target(body=record_body),
    "screeningimport-list": Target(body=lambda w, u: {"unit": u.pk}),
    "screeningimport-detail": Target(batch_pk),
}
