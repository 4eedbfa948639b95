"""How the authorization matrix aims casework URLs at an object in a given unit."""

from django.utils import timezone

from apps.core.scoping import unscoped
from tests.authz import Target


def _case(world, unit):
    from apps.casework.models import Case

    client = world.client[unit.pk]
    with unscoped("matrix fixture"):
        case = Case.objects.filter(client=client).first()
        if case is None:
            case = Case.objects.create(client=client, unit=unit, unit_path=unit.path, state="active")
    return case


def case_pk(world, unit):
    return {"pk": _case(world, unit).pk}


def session_pk(world, unit):
    from apps.casework.models import CounsellingSession

    case = _case(world, unit)
    with unscoped("matrix fixture"):
        session = CounsellingSession.objects.filter(case=case).first()
        if session is None:
            session = CounsellingSession.objects.create(
                case=case,
                unit_path=unit.path,
                counsellor=world.resident[unit.pk],
                happened_at=timezone.now(),
                duration_minutes=50,
                notes="矩阵咨询记录",
            )
    return {"pk": session.pk}


def consent_pk(world, unit):
    from apps.casework.models import Consent

    case = _case(world, unit)
    with unscoped("matrix fixture"):
        consent = Consent.objects.filter(case=case).first()
        if consent is None:
            consent = Consent.objects.create(
                client=case.client,
                unit_path=unit.path,
                case=case,
                kind="confidentiality_notice",
                given_by="client",
                given_at=timezone.now(),
            )
    return {"pk": consent.pk}


def reception_pk(world, unit):
    from apps.casework.models import Reception

    client = world.client[unit.pk]
    with unscoped("matrix fixture"):
        reception = Reception.objects.filter(client=client).first()
        if reception is None:
            reception = Reception.objects.create(
                client=client,
                unit=unit,
                unit_path=unit.path,
                receptionist=world.resident[unit.pk],
                received_at=timezone.now(),
                told_flow_rights=True,
            )
    return {"pk": reception.pk}


def client_body(world, unit):
    return {"client": world.client[unit.pk].pk}


TARGETS = {
    "casework:case-list": Target(),
    "casework:case-create": Target(body=client_body),
    "casework:case-detail": Target(case_pk),
    "casework:case-transition": Target(case_pk),
    "casework:case-counsellor": Target(case_pk),
    "casework:consent-create": Target(case_pk),
    "casework:case-override": Target(case_pk),
    "casework:session-create": Target(case_pk),
    "casework:consent-withdraw": Target(consent_pk),
    "casework:session-detail": Target(session_pk),
    "casework:reception-list": Target(),
    "casework:reception-create": Target(body=client_body),
    "casework:reception-detail": Target(reception_pk),
    "casework:reception-open-case": Target(reception_pk),
    "case-list": Target(body=client_body),
    "case-detail": Target(case_pk),
    "case-transition": Target(case_pk),
    "counselling-session-list": Target(body=lambda w, u: {"case": _case(w, u).pk, "duration_minutes": 50}),
    "counselling-session-detail": Target(session_pk),
    "reception-list": Target(body=client_body),
    "reception-detail": Target(reception_pk),
    "consent-list": Target(
        body=lambda w, u: {"client": w.client[u.pk].pk, "kind": "confidentiality_notice", "given_by": "client"}
    ),
    "consent-detail": Target(consent_pk),
}
