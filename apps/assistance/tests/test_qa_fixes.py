"""QA fixes on rapid response: a clear message for a responder no longer available, labelled pick-lists."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from apps.assistance.forms import DispatchForm
from apps.assistance.models import Dispatch, Responder
from apps.membership import services as membership

from .conftest import browser
from .test_crisis import event, roster, window  # noqa: F401  (fixtures)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def test_dispatching_a_responder_who_became_unavailable_says_so_in_chinese(assoc, roster, event):  # noqa: F811
    """H-SVC-3: a responder ticked on the page but unavailable by the time of the POST is refused with a
    Chinese message that names no internal id."""
    http = browser(assoc.secretariat)
    start, end = window()
    fmt = "%Y-%m-%dT%H:%M"
    params = {"starts_at": start.astimezone(SH).strftime(fmt), "ends_at": end.astimezone(SH).strftime(fmt)}
    chen = roster["chen"]
    assert "危机会员小陈" in http.get(f"/assistance/events/{event.pk}/mobilise/", params).content.decode()
    Responder.objects.filter(pk=chen.pk).update(status="unavailable")
    body = http.post(
        f"/assistance/events/{event.pk}/mobilise/", {**params, "role": "leader", "responders": [chen.pk]}
    ).content.decode()
    assert "该人员已不在可调派名单中，请刷新后重新选择。" in body
    assert "不在可用的选项中" not in body and "有效的选项" not in body
    assert not Dispatch.objects.exists()


def test_responder_choices_carry_the_member_number(assoc, roster, event):  # noqa: F811
    """H-SVC-3: responders who are members are labelled with their member number, so equal names differ."""
    chen = roster["chen"]
    member = membership.do_create_member(
        actor=None, association=assoc.root, user=chen.user, name=chen.user.full_name, joined_on=dt.date(2026, 1, 5)
    )
    form = DispatchForm(candidates=Responder.objects.filter(pk__in=[chen.pk, roster["zhou"].pk]).order_by("pk"))
    labels = {value.value: label for value, label in form.fields["responders"].choices}
    assert labels[chen.pk].startswith(f"{member.number} 危机会员小陈（危机干预专委会；")
    assert labels[roster["zhou"].pk].startswith("危机会员小周（危机干预专委会；")


def test_a_revoked_member_is_not_mobilised(assoc, roster, event):  # noqa: F811
    """H-SVC-3, H-MEM-6: a responder whose membership was revoked leaves the candidate list and cannot be dispatched."""
    from django.core.exceptions import ValidationError

    from apps.assistance import selectors, services
    from apps.membership.models import Member

    chen = roster["chen"]
    member = membership.do_create_member(
        actor=None, association=assoc.root, user=chen.user, name=chen.user.full_name, joined_on=dt.date(2026, 1, 5)
    )
    start, end = window()
    assert chen in selectors.mobilisation_candidates(assoc.secretariat, event, start, end)
    Member.objects.filter(pk=member.pk).update(status="revoked")
    assert chen not in selectors.mobilisation_candidates(assoc.secretariat, event, start, end)
    with pytest.raises(ValidationError, match="已不是本协会在册会员"):
        services.do_dispatch(
            actor=assoc.secretariat, event=event, responders=[chen], role="leader", starts_at=start, ends_at=end
        )
    assert not Dispatch.objects.exists()
