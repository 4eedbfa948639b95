"""How the authorization matrix aims each membership URL at an object in a given unit.

The matrix tree is a district tree, so the objects are attached to the matrix unit directly
(the models only need an org unit and its path); the rules about associations are tested in
this app's own tests.
"""

import datetime as dt
import io

from tests.authz import Target

MATRIX_PHOTO = "private/membership/matrix/photo.png"
MATRIX_SCAN = "private/membership/matrix/scan.png"


def _file(name):
    from PIL import Image

    from apps.membership.storage import private_storage

    storage = private_storage()
    if not storage.exists(name):
        buffer = io.BytesIO()
        Image.new("RGB", (120, 160), (100, 150, 200)).save(buffer, format="PNG")
        from django.core.files.base import ContentFile

        storage.save(name, ContentFile(buffer.getvalue()))
    return name


def member_in(world, unit):
    from apps.membership.models import Member

    member, _ = Member.objects.get_or_create(
        association=unit,
        user=world.resident[unit.pk],
        defaults={
            "unit_path": unit.path,
            "number": "2026-0001",
            "number_year": 2026,
            "number_seq": 1,
            "name": "矩阵会员",
            "joined_on": dt.date(2026, 1, 1),
            "card_token": f"matrix-{unit.pk}",
            "photo": _file(MATRIX_PHOTO),
        },
    )
    return member


def application_in(world, unit):
    from django.utils import timezone

    from apps.core.scoping import unscoped
    from apps.membership.models import Application

    with unscoped("matrix set-up"):
        application = Application.objects.filter(reference=f"MX{unit.pk}").first()
        if application is None:
            application = Application.objects.create(
                association=unit,
                unit_path=unit.path,
                reference=f"MX{unit.pk}",
                secret_hash="x",
                charter_version="matrix",
                charter_accepted_at=timezone.now(),
                name="矩阵申请人",
                gender="male",
                id_number="11010519491231002X",
                phone="13800138000",
                photo=_file(MATRIX_PHOTO),
            )
    return application


def certificate_in(world, unit):
    from apps.membership.models import Certificate

    member = member_in(world, unit)
    cert = Certificate.objects.filter(member=member).first()
    if cert is None:
        cert = Certificate.objects.create(
            unit_path=unit.path, member=member, kind="counsellor", number="MX", issuer="矩阵", scan=_file(MATRIX_SCAN)
        )
    return cert


def committee_membership_in(world, unit):
    from apps.membership.models import CommitteeMembership

    member = member_in(world, unit)
    row, _ = CommitteeMembership.objects.get_or_create(
        member=member,
        committee=unit,
        left_on=None,
        defaults={"association": unit, "unit_path": unit.path, "slot": 1, "joined_on": dt.date(2026, 1, 1)},
    )
    return row


def position_in(world, unit):
    from apps.membership.models import Position

    member = member_in(world, unit)
    row, _ = Position.objects.get_or_create(
        member=member,
        kind="director",
        defaults={"association": unit, "unit_path": unit.path, "term_start": dt.date(2025, 1, 1)},
    )
    return row


def complaint_in(world, unit):
    from apps.membership.models import EthicsComplaint

    member = member_in(world, unit)
    row = EthicsComplaint.objects.filter(member=member).first()
    if row is None:
        row = EthicsComplaint.objects.create(
            association=unit,
            unit_path=unit.path,
            member=member,
            complainant="矩阵投诉人",
            principle="respect",
            description="矩阵",
            received_on=dt.date(2026, 1, 1),
        )
    return row


def vote_in(world, unit):
    from apps.membership.models import AdmissionVote

    application = application_in(world, unit)
    vote, _ = AdmissionVote.objects.get_or_create(
        application=application, defaults={"association": unit, "unit_path": unit.path}
    )
    return vote


def pk_of(factory):
    return lambda world, unit: {"pk": factory(world, unit).pk}


def payment_body(world, unit):
    return {
        "pay-member": member_in(world, unit).pk,
        "pay-year": 2026,
        "pay-amount": "100",
        "pay-paid_on": "2026-01-02",
        "pay-method": "cash",
        "pay-receipt_number": f"MX-{unit.pk}",
    }


def complaint_body(world, unit):
    return {
        "member": member_in(world, unit).pk,
        "complainant": "矩阵投诉人",
        "principle": "respect",
        "description": "矩阵",
        "received_on": "2026-01-02",
    }


TARGETS: dict = {
    # public
    "membership:apply-start": Target(),
    "membership:apply": Target(lambda w, u: {"association_id": u.pk}, global_object=True),
    "membership:status": Target(),
    "membership:verify": Target(lambda w, u: {"token": f"matrix-{u.pk}"}, global_object=True),
    # applications
    "membership:dashboard": Target(),
    "membership:application-list": Target(),
    "membership:application-detail": Target(pk_of(application_in)),
    "membership:application-review": Target(pk_of(application_in)),
    "membership:application-simplified": Target(pk_of(application_in)),
    "membership:application-ballot": Target(pk_of(application_in)),
    "membership:application-close-vote": Target(pk_of(application_in)),
    "membership:application-photo": Target(pk_of(application_in)),
    "membership:certificate-scan": Target(pk_of(certificate_in)),
    "membership:certificate-expiring": Target(),
    # members
    "membership:member-list": Target(),
    "membership:member-detail": Target(pk_of(member_in)),
    "membership:member-photo": Target(pk_of(member_in)),
    "membership:member-photo-upload": Target(pk_of(member_in)),
    "membership:member-card": Target(pk_of(member_in)),
    "membership:member-committee-join": Target(pk_of(member_in)),
    "membership:member-certificate-add": Target(pk_of(member_in)),
    "membership:member-conduct-add": Target(pk_of(member_in)),
    "membership:member-revoke": Target(pk_of(member_in)),
    "membership:committee-leave": Target(pk_of(committee_membership_in)),
    # dues
    "membership:dues": Target(),
    "membership:dues-pay": Target(body=payment_body),
    "membership:dues-rate": Target(
        body=lambda w, u: {"association": u.pk, "rate-year": 2026, "rate-tier": "participant"}
    ),
    "membership:dues-arrears": Target(),
    # bodies and positions
    "membership:position-list": Target(),
    "membership:position-create": Target(),
    "membership:vote-rules": Target(
        body=lambda w, u: {"association": u.pk, "vote_quorum_numerator": 2, "vote_quorum_denominator": 3}
    ),
    "membership:position-filing": Target(pk_of(position_in)),
    "membership:position-end": Target(pk_of(position_in)),
    # conduct
    "membership:complaint-list": Target(),
    "membership:complaint-create": Target(),
    "membership:complaint-decide": Target(pk_of(complaint_in)),
    # self-service: a person sees only their own
    "membership:me": Target(),
    "membership:me-card": Target(pk_of(member_in), foreign_object=True),
    "membership:me-photo": Target(pk_of(member_in), foreign_object=True),
    # API
    "membership-application-list": Target(),
    "membership-application-detail": Target(pk_of(application_in)),
    "membership-application-review": Target(pk_of(application_in)),
    "membership-application-simplified": Target(pk_of(application_in)),
    "membership-application-ballot": Target(pk_of(application_in)),
    "membership-application-close-vote": Target(pk_of(application_in)),
    "membership-vote-list": Target(),
    "membership-vote-detail": Target(pk_of(vote_in)),
    "membership-member-list": Target(),
    "membership-member-detail": Target(pk_of(member_in)),
    "membership-dues-list": Target(body=payment_body),
    "membership-complaint-list": Target(body=complaint_body),
    "membership-me-list": Target(),
}
