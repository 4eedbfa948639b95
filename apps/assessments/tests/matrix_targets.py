import secrets

from tests.authz import Target


def client_id(world, unit):
    return {"client_id": world.client[unit.pk].pk}


def _result(world, unit):
    from apps.assessments.services import do_record_result

    return do_record_result(actor=None, client=world.client[unit.pk], scale_code="GAD-7", answers=[1] * 7)


def result_pk(world, unit):
    return {"pk": _result(world, unit).pk}


def link_pk(world, unit):
    # Written directly (as do_create_link would): the matrix has no one who may administer everywhere.
    from apps.assessments.models import AssessmentLink
    from apps.assessments.selectors import current_version, scale_by_code

    client = world.client[unit.pk]
    link = AssessmentLink.objects.create(
        client=client,
        unit=unit,
        unit_path=unit.path,
        scale_version=current_version(scale_by_code("PHQ-9", None)),
        token_hash=secrets.token_hex(32),
        created_by=world.resident[unit.pk],
        expires_at="2099-01-01T00:00:00+08:00",
    )
    return {"pk": link.pk}


def scale_pk(world, unit):
    from apps.assessments.models import Scale

    return {"pk": Scale.objects.get(code="PHQ-9", tenant__isnull=True).pk}


def result_body(world, unit):
    return {"client": world.client[unit.pk].pk, "scale": "GAD-7", "answers": [0] * 7}


def link_body(world, unit):
    return {"client": world.client[unit.pk].pk, "scale": "PHQ-9", "days": 7}


TARGETS = {
    "assessments:result-list": Target(),
    "assessments:result-detail": Target(result_pk),
    "assessments:client-results": Target(client_id),
    "assessments:result-create": Target(client_id),
    "assessments:link-create": Target(client_id),
    "assessments:link-revoke": Target(link_pk),
    "assessments:scale-list": Target(),
    "assessments:scale-import": Target(),
    "assessments:scale-detail": Target(scale_pk, global_object=True),
    "assessments:cutoff-edit": Target(scale_pk, global_object=True),
    "assessments:cutoff-clear": Target(scale_pk, global_object=True),
    "assessments:take": Target(lambda w, u: {"token": "matrix-token"}, global_object=True),
    "assessment-scale-list": Target(),
    "assessment-scale-detail": Target(scale_pk, global_object=True),
    "assessment-result-list": Target(body=result_body),
    "assessment-result-detail": Target(result_pk),
    "assessment-link-list": Target(body=link_body),
}
