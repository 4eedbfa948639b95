"""A member holding a board seat votes through their own member assignment (H-MEM-2, H-ORG-1, H-ORG-4)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from apps.core.access import active_grant
from apps.membership import selectors, services
from apps.membership.choices import PositionKind
from apps.membership.models import Ballot
from conftest import make_user

from .conftest import new_member, submit

pytestmark = pytest.mark.django_db

TODAY = selectors.today()


def voting_application(assoc, officer, seq=1):
    application, _ = submit(assoc, seq)
    return services.do_review_application(actor=officer, application=application, passed=True, note="材料齐全")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ballot_url(application) -> str:
    return f"/membership/applications/{application.pk}/ballot/"


def test_member_appointed_director_votes_with_only_the_member_grant(assoc, officer, secretariat, board):
    """H-MEM-2: a member later appointed director votes with only the member grant — page, vote, once."""
    member = new_member(assoc, "chen", "会员陈")
    user = member.user
    application = voting_application(assoc, officer)
    assert active_grant(user).role_code == "member"  # the only grant there is
    client = logged_in(user)
    # not (yet) a director: no vote page, no vote, nothing waiting
    assert client.get(ballot_url(application)).status_code == 403
    assert client.post(ballot_url(application), {"choice": "approve"}).status_code == 403
    assert "待我表决" not in client.get("/membership/me/").content.decode()

    services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=TODAY - dt.timedelta(days=1))
    me = client.get("/membership/me/").content.decode()
    assert "待我表决的入会申请" in me and application.reference in me
    page = client.get(ballot_url(application))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="ballot-form"' in html and application.reference in html
    assert application.id_number not in html  # the voter sees what the decision needs, not the ID number
    response = client.post(ballot_url(application), {"choice": "approve"})
    assert response.status_code == 302 and response["Location"] == ballot_url(application)
    ballot = Ballot.objects.get(vote__application=application)
    assert ballot.voter == user and ballot.choice == "approve"
    assert active_grant(user).role_code == "member"  # no grant was switched or added
    # once each: a second vote changes nothing
    client.post(ballot_url(application), {"choice": "reject"})
    assert list(Ballot.objects.filter(vote__application=application).values_list("choice", flat=True)) == ["approve"]
    html = client.get(ballot_url(application)).content.decode()
    assert "您已投票：同意" in html and 'data-testid="ballot-form"' not in html
    assert application.reference not in client.get("/membership/me/").content.decode()
    # the vote counts like any other (with two more directors voting, the quorum of 3 of 4 is reached)
    for director in board[:2]:
        services.do_cast_ballot(actor=director, application=application, choice="approve")
    application = services.do_close_vote(actor=secretariat, application=application)
    application.vote.refresh_from_db()
    assert application.vote.approve_count == 3


def test_standing_director_votes_and_not_after_closing(assoc, officer, secretariat, board):
    """H-MEM-2: a standing director votes as a member; after the vote is closed nobody can vote."""
    member = new_member(assoc, "liu", "会员刘")
    services.do_appoint(
        actor=None, member=member, kind=PositionKind.STANDING_DIRECTOR, term_start=TODAY - dt.timedelta(days=30)
    )
    application = voting_application(assoc, officer)
    for director in board:  # 3 of the 4 board members: the quorum
        services.do_cast_ballot(actor=director, application=application, choice="approve")
    services.do_close_vote(actor=secretariat, application=application)
    client = logged_in(member.user)
    html = client.get(ballot_url(application)).content.decode()
    assert 'data-testid="ballot-form"' not in html and "结束" in html
    client.post(ballot_url(application), {"choice": "approve"})
    assert not Ballot.objects.filter(voter=member.user).exists()
    with pytest.raises(ValidationError, match="不在理事会表决阶段"):  # closed: admitted, no longer under vote
        services.do_cast_ballot(actor=member.user, application=application, choice="approve")


@pytest.mark.parametrize("how", ["term_over", "ended_early"])
def test_member_whose_term_ended_cannot_vote(assoc, officer, how):
    """H-MEM-2, H-ORG-4: only current holders vote; a director whose term is over is back to a plain member."""
    member = new_member(assoc, "zhou", "会员周")
    if how == "term_over":
        services.do_appoint(
            actor=None,
            member=member,
            kind=PositionKind.DIRECTOR,
            term_start=TODAY - dt.timedelta(days=400),
            term_end=TODAY - dt.timedelta(days=1),
        )
    else:
        position = services.do_appoint(
            actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=TODAY - dt.timedelta(days=400)
        )
        services.do_end_position(actor=None, position=position, ended_on=TODAY)
    application = voting_application(assoc, officer)
    client = logged_in(member.user)
    assert client.get(ballot_url(application)).status_code == 403
    assert client.post(ballot_url(application), {"choice": "approve"}).status_code == 403
    with pytest.raises(ValidationError, match="只有现任理事"):
        services.do_cast_ballot(actor=member.user, application=application, choice="approve")
    assert not Ballot.objects.exists()
    assert selectors.awaiting_my_ballot(member.user) == []


def test_other_positions_and_other_associations_do_not_vote(assoc, other_assoc, officer):
    """H-MEM-2: a department post is not a board seat; a director elsewhere cannot open or vote here."""
    staff = new_member(assoc, "wu", "会员吴")
    services.do_appoint(
        actor=None,
        member=staff,
        kind=PositionKind.DEPARTMENT_HEAD,
        term_start=TODAY - dt.timedelta(days=10),
        unit=assoc.membership_dept,
    )
    elsewhere = new_member(other_assoc, "zheng", "外会郑")
    services.do_appoint(actor=None, member=elsewhere, kind=PositionKind.DIRECTOR, term_start=TODAY)
    application = voting_application(assoc, officer)
    assert logged_in(staff.user).get(ballot_url(application)).status_code == 403
    other = logged_in(elsewhere.user)
    assert other.get(ballot_url(application)).status_code == 404  # a seat, but not in this association
    assert other.post(ballot_url(application), {"choice": "approve"}).status_code == 404
    with pytest.raises(ValidationError):
        services.do_cast_ballot(actor=elsewhere.user, application=application, choice="approve")
    assert not Ballot.objects.exists()


def test_seat_holder_sees_only_applications_put_to_the_board(assoc, officer):
    """H-MEM-2: through the member grant a director opens applications under vote, not those still in first review."""
    member = new_member(assoc, "qian", "会员钱")
    services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=TODAY)
    waiting, _ = submit(assoc, 5)
    client = logged_in(member.user)
    assert client.get(ballot_url(waiting)).status_code == 404
    assert client.get(f"/membership/applications/{waiting.pk}/").status_code == 403  # the full file needs a role


def test_another_active_grant_does_not_carry_the_seat(assoc, officer):
    """H-MEM-2: the seat votes through the member assignment, not through another role that lacks the vote."""
    user = make_user("sun", assoc.root, "membership_officer", full_name="会员部孙")  # first, so the active grant
    member = services.do_create_member(
        actor=None, association=assoc.root, user=user, name="会员部孙", joined_on=dt.date(2025, 1, 10)
    )
    services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=TODAY)
    application = voting_application(assoc, officer)
    assert active_grant(user).role_code == "membership_officer"
    with pytest.raises(ValidationError, match="无权"):
        services.do_cast_ballot(actor=user, application=application, choice="approve")
    member_assignment = next(a for a in user.assignments.all() if a.role.code == "member")
    user.active_assignment_id = member_assignment.pk
    services.do_cast_ballot(actor=user, application=application, choice="approve")
    assert Ballot.objects.filter(voter=user).count() == 1


def test_board_member_role_still_votes_from_the_application_page(assoc, officer, board):
    """H-MEM-2: a director acting through the board_member role votes from the application page as before."""
    application = voting_application(assoc, officer)
    client = logged_in(board[0])
    assert 'data-testid="ballot-form"' in client.get(f"/membership/applications/{application.pk}/").content.decode()
    response = client.post(ballot_url(application), {"choice": "reject"})
    assert response["Location"] == f"/membership/applications/{application.pk}/"
    assert client.get(ballot_url(application)).status_code == 200
    assert Ballot.objects.get(voter=board[0]).choice == "reject"


def test_seat_holder_votes_through_the_api_with_the_member_grant(assoc, other_assoc, officer):
    """H-MEM-2, X-6: the API ballot follows the page: a seat held as a member votes once; a plain member, an
    ended term or another association's application is refused and nothing is written."""
    member = new_member(assoc, "api_voter", "会员王")
    application = voting_application(assoc, officer)
    client = logged_in(member.user)
    url = f"/api/membership/applications/{application.pk}/ballot/"
    assert client.post(url, {"choice": "approve"}, content_type="application/json").status_code == 403
    position = services.do_appoint(
        actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=TODAY - dt.timedelta(days=1)
    )
    response = client.post(url, {"choice": "approve"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["choice"] == "approve"
    again = client.post(url, {"choice": "reject"}, content_type="application/json")
    assert again.status_code == 400
    elsewhere, _ = submit(other_assoc, 2)
    other_url = f"/api/membership/applications/{elsewhere.pk}/ballot/"
    assert client.post(other_url, {"choice": "approve"}, content_type="application/json").status_code == 404
    services.do_end_position(actor=None, position=position, ended_on=TODAY)
    second = voting_application(assoc, officer, seq=3)
    late = client.post(
        f"/api/membership/applications/{second.pk}/ballot/", {"choice": "approve"}, content_type="application/json"
    )
    assert late.status_code == 403
    assert list(Ballot.objects.values_list("voter__username", "choice")) == [("api_voter", "approve")]


def test_api_ballot_refuses_a_foreign_assignment_header(assoc, officer, board):
    """H-MEM-2, issue 14 item 3: the ballot's seat path refuses another person's or an invalid
    X-Xinyuan-Assignment with 403, like every other endpoint, and writes nothing."""
    application = voting_application(assoc, officer)
    client = logged_in(board[0])
    url = f"/api/membership/applications/{application.pk}/ballot/"
    foreign = officer.assignments.first().pk
    for header in (str(foreign), "abc", "9" * 30):
        response = client.post(
            url, {"choice": "approve"}, content_type="application/json", HTTP_X_XINYUAN_ASSIGNMENT=header
        )
        assert response.status_code == 403
    assert not Ballot.objects.exists()
