"""Applications, first review, board vote and admission (H-MEM-1, H-MEM-2)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import Assignment
from apps.core.scoping import unscoped
from apps.membership import selectors, services
from apps.membership.choices import ApplicationStatus, CertificateKind, PositionKind, VoteResult
from apps.membership.models import Application, Ballot, Member
from apps.notifications.models import Notification
from conftest import make_user

from .conftest import new_member, png, submit

pytestmark = pytest.mark.django_db


def count_applications():
    with unscoped("test"):
        return Application.objects.count()


def passed_application(assoc, officer, seq=1):
    application, _ = submit(assoc, seq)
    return services.do_review_application(actor=officer, application=application, passed=True, note="材料齐全")


@pytest.mark.parametrize(
    "approve, reject, abstain, expected",
    [
        (2, 1, 0, True),
        (1, 1, 0, False),  # tie fails
        (2, 2, 0, False),
        (2, 0, 2, False),  # abstentions are votes cast: 2 of 4 is not more than half
        (3, 0, 2, True),
        (1, 0, 0, True),
        (0, 0, 3, False),
        (0, 0, 0, False),
    ],
)
def test_vote_arithmetic(approve, reject, abstain, expected):
    """H-MEM-2: more than half of the votes cast (abstentions included) approve; ties fail."""
    assert services.vote_passes(approve, reject, abstain) is expected


def test_submit_encrypts_identifiers_and_returns_a_secret(assoc):
    """H-MEM-1: the application is stored with encrypted identifiers; the secret opens the status page."""
    from django.db import connection

    application, secret = submit(assoc, 1, committees=assoc.committees[:2])
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.birth_date == dt.date(1985, 3, 12)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, name FROM membership_application WHERE id = %s", [application.pk])
        raw = cursor.fetchone()
    assert all(str(v).startswith("v1:") for v in raw)
    found = selectors.application_by_reference(application.reference)
    assert services.check_application_secret(found, secret) == application
    with pytest.raises(ValidationError):
        services.check_application_secret(found, "wrong")


@pytest.mark.parametrize(
    "extra, code",
    [
        ({"charter_accepted": False}, "charter"),
        ({"id_number": "330102198503120000"}, None),
        ({"phone": "12345"}, None),
        ({"name": ""}, "name"),
    ],
)
def test_bad_applications_are_refused_in_chinese_and_nothing_is_saved(assoc, extra, code):
    """H-MEM-1: charter not accepted, bad ID checksum, bad mobile, no name — refused, nothing written."""
    with pytest.raises(ValidationError) as error:
        submit(assoc, 1, **extra)
    if code:
        assert error.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in " ".join(error.value.messages))
    assert count_applications() == 0


def test_photo_and_committee_limits(assoc):
    """H-MEM-1, H-MEM-3, H-ORG-3: the photo must be a real image; three committees are refused."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    with pytest.raises(ValidationError, match="JPG 或 PNG"):
        services.do_submit_application(
            association=assoc.root, data=_data(1), photo=fake, certificates=[], committees=[]
        )
    with pytest.raises(ValidationError, match="100 至 4000"):
        services.do_submit_application(
            association=assoc.root, data=_data(1), photo=png(50, 50), certificates=[], committees=[]
        )
    with pytest.raises(ValidationError, match="最多参加两个"):
        submit(assoc, 1, committees=assoc.committees)
    assert count_applications() == 0


def _data(seq):
    from .conftest import application_data

    return application_data(seq)


def test_duplicate_pending_application_refused(assoc):
    """H-MEM-1: one open application per person and association."""
    submit(assoc, 1)
    with pytest.raises(ValidationError, match="已有一份正在办理"):
        submit(assoc, 1)


def test_first_review_return_needs_a_reason(assoc, officer):
    """H-MEM-1: returning without a reason is refused; with a reason the applicant sees it."""
    application, _ = submit(assoc, 1)
    with pytest.raises(ValidationError, match="须写明理由"):
        services.do_review_application(actor=officer, application=application, passed=False, note="")
    returned = services.do_review_application(actor=officer, application=application, passed=False, note="缺少证书")
    assert returned.status == ApplicationStatus.RETURNED and returned.review_note == "缺少证书"


def test_board_vote_admits_and_creates_account(assoc, officer, secretariat, board):
    """H-MEM-2: board members vote once; the secretariat closes; approval creates user, member, role."""
    application, secret = submit(assoc, 1, committees=[assoc.committees[0]])
    application = services.do_review_application(actor=officer, application=application, passed=True, note="")
    assert application.status == ApplicationStatus.VOTING
    assert Notification.objects.filter(recipient__in=board, title="入会申请待理事会表决").count() == 3
    services.do_cast_ballot(actor=board[0], application=application, choice="approve")
    services.do_cast_ballot(actor=board[1], application=application, choice="approve")
    services.do_cast_ballot(actor=board[2], application=application, choice="reject")
    application = services.do_close_vote(actor=secretariat, application=application)
    assert application.status == ApplicationStatus.ADMITTED
    vote = application.vote
    vote.refresh_from_db()
    assert (vote.result, vote.approve_count, vote.reject_count, vote.abstain_count) == (VoteResult.APPROVED, 2, 1, 0)
    member = application.member
    assert member.number.startswith(f"{selectors.today().year}-")
    assert Assignment.objects.filter(user=member.user, unit=assoc.root, role__code="member").exists()
    assert Assignment.objects.filter(user=member.user, unit=assoc.committees[0], role__code="member").exists()
    assert Notification.objects.filter(recipient=member.user, title="入会申请已获批准").exists()
    assert not member.user.has_usable_password()
    user = services.do_set_initial_password(application=application, secret=secret, password="Xinyuan-Member-2026!")
    assert user.check_password("Xinyuan-Member-2026!")
    with pytest.raises(ValidationError, match="已设置"):
        services.do_set_initial_password(application=application, secret=secret, password="Another-Pass-2026!")
    assert Ballot.objects.filter(vote=vote).count() == 3  # the vote record is kept


def test_tie_and_abstentions_reject(assoc, officer, secretariat, board):
    """H-MEM-2: one approve, one reject, one abstain → not more than half → rejected."""
    application = passed_application(assoc, officer)
    for user, choice in zip(board, ["approve", "reject", "abstain"], strict=True):
        services.do_cast_ballot(actor=user, application=application, choice=choice)
    application = services.do_close_vote(actor=secretariat, application=application)
    assert application.status == ApplicationStatus.REJECTED
    assert application.member is None
    assert Member.objects.count() == 3  # only the directors


def test_second_vote_late_vote_and_non_board_voter_refused(assoc, officer, secretariat, board):
    """H-MEM-2: a second vote, a vote after closing and a vote by a non-director are all refused."""
    application = passed_application(assoc, officer)
    services.do_cast_ballot(actor=board[0], application=application, choice="approve")
    with pytest.raises(ValidationError, match="只能投一次"):
        services.do_cast_ballot(actor=board[0], application=application, choice="reject")
    # holds the board_member role but no current board position
    impostor = make_user("impostor", assoc.root, "board_member")
    with pytest.raises(ValidationError, match="只有现任理事"):
        services.do_cast_ballot(actor=impostor, application=application, choice="approve")
    # a director whose term has ended
    former_user = make_user("former", assoc.root, "board_member", full_name="前理事")
    former = services.do_create_member(
        actor=None, association=assoc.root, user=former_user, name="前理事", joined_on=dt.date(2020, 1, 1)
    )
    position = services.do_appoint(
        actor=None, member=former, kind=PositionKind.DIRECTOR, term_start=dt.date(2020, 1, 1),
        term_end=dt.date(2024, 12, 31),
    )  # fmt: skip
    assert position.pk
    with pytest.raises(ValidationError, match="只有现任理事"):
        services.do_cast_ballot(actor=former.user, application=application, choice="approve")
    services.do_cast_ballot(actor=board[1], application=application, choice="approve")  # quorum: 2 of 3
    services.do_close_vote(actor=secretariat, application=application)
    with pytest.raises(ValidationError):
        services.do_cast_ballot(actor=board[2], application=application, choice="approve")
    assert Ballot.objects.count() == 2


def test_close_without_ballots_and_wrong_closer(assoc, officer, secretariat, board):
    """H-MEM-2: a vote with no ballots cannot be closed; a board member cannot close it."""
    application = passed_application(assoc, officer)
    with pytest.raises(ValidationError, match="尚无理事投票"):
        services.do_close_vote(actor=secretariat, application=application)
    services.do_cast_ballot(actor=board[0], application=application, choice="approve")
    with pytest.raises(ValidationError, match="无权"):
        services.do_close_vote(actor=board[0], application=application)


def test_other_associations_board_cannot_vote(assoc, other_assoc, officer, board):
    """H-MEM-2: a director of another association cannot vote here (scope and position)."""
    application = passed_application(assoc, officer)
    stranger_user = make_user("stranger", other_assoc.root, "board_member", full_name="外会理事")
    stranger = services.do_create_member(
        actor=None, association=other_assoc.root, user=stranger_user, name="外会理事", joined_on=dt.date(2025, 1, 1)
    )
    services.do_appoint(actor=None, member=stranger, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
    with pytest.raises(ValidationError):
        services.do_cast_ballot(actor=stranger.user, application=application, choice="approve")


def test_simplified_procedure_records_the_licence(assoc, officer):
    """H-MEM-2: a licensed applicant is admitted directly, recording which licence; others are refused."""
    certs = [
        {"kind": CertificateKind.TEACHER, "number": "T-1", "issuer": "教育局"},
        {"kind": CertificateKind.COUNSELLOR, "number": "C-2", "issuer": "人社部", "expires_on": dt.date(2030, 1, 1)},
    ]
    application, _ = submit(assoc, 1, certificates=certs)
    with unscoped("test"):
        teacher, counsellor = list(application.certificates.order_by("id"))
    with pytest.raises(ValidationError, match="简易程序只适用于"):
        services.do_admit_simplified(actor=officer, application=application, licence=teacher)
    application = services.do_admit_simplified(actor=officer, application=application, licence=counsellor)
    assert application.status == ApplicationStatus.ADMITTED and application.licence == counsellor
    assert application.route == "simplified"
    assert application.member.certificates.count() == 2


def test_member_numbers_are_sequential_per_association(assoc, other_assoc):
    """H-MEM-3: numbers YYYY-NNNN, sequential and unique within one association."""
    a1 = new_member(assoc, "a1")
    a2 = new_member(assoc, "a2")
    b1 = new_member(other_assoc, "b1")
    assert (a1.number, a2.number, b1.number) == ("2026-0001", "2026-0002", "2026-0001")
