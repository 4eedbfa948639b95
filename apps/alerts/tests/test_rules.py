"""Rules of the three-colour warning, tested on the services with a movable clock."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.alerts import selectors, services
from apps.alerts.choices import Colour, EventKind, Proposal, State
from apps.alerts.models import AlertPolicy, ColourRule, Warning, WarningEvent
from apps.alerts.reminders import cycles_due, feedback_due
from apps.core.scoping import unscoped
from apps.notifications.models import Notification
from apps.outreach.services import do_plan_visit, do_record_visit

from .conftest import phq9

pytestmark = pytest.mark.django_db


def events(warning):
    with unscoped("test assertion"):
        return list(WarningEvent.objects.filter(warning=warning).order_by("at", "id"))


def fresh(warning):
    with unscoped("test assertion"):
        return Warning.objects.get(pk=warning.pk)


def tag(worker, client, colour=Colour.ORANGE):
    return services.do_tag_key_person(actor=worker, client=client, proposed_colour=colour, reason="情绪低落，拒绝出门")


def opened(worker, admin, counsellor, client, total=22, item9=0):
    warning = tag(worker, client)
    result = phq9(client, total, item9)
    return services.do_set_colour(actor=admin, warning=warning, result=result, counsellor=counsellor)


def visit(client, staff, when=None):
    planned = do_plan_visit(actor=staff[0], client=client, kind="ad_hoc", planned_for=timezone.localdate(), staff=staff)
    return do_record_visit(
        actor=staff[0], visit=planned, visited_at=when or timezone.now(), staff=staff, family_present="母亲",
        record="情绪较前平稳，按时服药。",
    )  # fmt: skip


# --- S-WARN-2: tagging and reporting ------------------------------------------------------------------


def test_worker_tags_and_reports_to_district(tree, worker, district_admin, key_client):
    """S-WARN-2: a community worker tags a key person with a proposed colour; the district centre is told."""
    warning = tag(worker, key_client)
    assert warning.state == State.REPORTED and warning.colour == Colour.NONE
    assert warning.proposed_colour == Colour.ORANGE and warning.centre == tree.district
    assert [e.kind for e in events(warning)] == [EventKind.TAGGED]
    assert Notification.objects.filter(recipient=district_admin, url=f"/alerts/warnings/{warning.pk}/").exists()


def test_tag_refuses_bad_input_and_duplicates(tree, worker, counsellor_b, key_client):
    """S-WARN-2: colour and reason are required, one active file per client, only in the tagger's scope."""
    with pytest.raises(ValidationError, match="颜色"):
        services.do_tag_key_person(actor=worker, client=key_client, proposed_colour=7, reason="x")
    with pytest.raises(ValidationError, match="标记原因"):
        services.do_tag_key_person(actor=worker, client=key_client, proposed_colour=1, reason="  ")
    with pytest.raises(ValidationError, match="无权"):
        services.do_tag_key_person(actor=counsellor_b, client=key_client, proposed_colour=1, reason="越权")
    with unscoped("test assertion"):
        assert not Warning.objects.exists()
    tag(worker, key_client)
    with pytest.raises(ValidationError, match="未结案"):
        tag(worker, key_client)


# --- S-WARN-1/3: colour from the score, file, feedback ------------------------------------------------


def test_district_sets_colour_from_score_and_notifies_counsellor(worker, district_admin, counsellor_a, key_client):
    """S-WARN-1, S-WARN-3: the colour follows the band; the counsellor is told; feedback due in 3 days."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=12)
    assert warning.state == State.OPEN and warning.colour == Colour.ORANGE
    assert warning.basis_scale == "PHQ-9" and warning.basis_score == Decimal("12")
    day = services.today()
    assert warning.feedback_due == day + dt.timedelta(days=3)
    assert warning.cycle_days == 14 and warning.cycle_due == day + dt.timedelta(days=14)
    event = events(warning)[-1]
    assert event.kind == EventKind.COLOUR_SET and event.actor == district_admin
    assert event.scores["score"] == "12.00" and event.to_colour == Colour.ORANGE
    assert Notification.objects.filter(recipient=counsellor_a, url=f"/alerts/warnings/{warning.pk}/").exists()


def test_critical_item_is_always_red(worker, district_admin, counsellor_a, key_client):
    """S-WARN-1: a positive suicide item makes the warning red whatever the total."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=6, item9=1)
    assert warning.colour == Colour.RED and warning.cycle_days == 7


def test_colour_mapping_is_tenant_configuration(tree, worker, district_admin, counsellor_a, key_client):
    """S-WARN-6: a tenant maps PHQ-9 "moderate" to red instead of the default orange."""
    ColourRule.objects.create(tenant=tree.city, scale_code="PHQ-9", band_level="moderate", colour=Colour.RED)
    ColourRule.objects.create(tenant=tree.city, scale_code="", band_level="moderate", colour=Colour.YELLOW)
    warning = opened(worker, district_admin, counsellor_a, key_client, total=12)
    assert warning.colour == Colour.RED


def test_set_colour_rules(worker, district_admin, district_officer, counsellor_a, counsellor_b, key_client, tree):
    """S-WARN-3: only the centre sets colours; overriding the mapping needs a reason; the counsellor must fit."""
    from apps.clients.services import do_register_client

    warning = tag(worker, key_client)
    result = phq9(key_client, 12)
    other = phq9(do_register_client(actor=None, unit=tree.c1, data={"name": "他人"}), 20)
    with pytest.raises(ValidationError, match="区社会心理服务指导中心"):
        services.do_set_colour(actor=worker, warning=warning, result=result, counsellor=counsellor_a)
    with pytest.raises(ValidationError, match="不属于"):
        services.do_set_colour(actor=district_admin, warning=warning, result=other, counsellor=counsellor_a)
    with pytest.raises(ValidationError, match="说明原因"):
        services.do_set_colour(
            actor=district_admin, warning=warning, result=result, counsellor=counsellor_a, colour=Colour.RED
        )
    with pytest.raises(ValidationError, match="咨询师"):  # counsellor_b works in C2, not the client's C1
        services.do_set_colour(actor=district_admin, warning=warning, result=result, counsellor=counsellor_b)
    with pytest.raises(ValidationError, match="未达到预警标准"):
        services.do_set_colour(
            actor=district_admin, warning=warning, result=phq9(key_client, 2), counsellor=counsellor_a
        )
    assert fresh(warning).state == State.REPORTED and len(events(warning)) == 1
    warning = services.do_set_colour(
        actor=district_officer, warning=warning, result=result, counsellor=counsellor_a, colour=Colour.RED,
        reason="家属反映近期有轻生言语",
    )  # fmt: skip
    assert warning.colour == Colour.RED


def test_stale_version_is_refused(worker, district_admin, counsellor_a, key_client):
    """S-WARN-3: an edit based on an old version of the file changes nothing."""
    warning = tag(worker, key_client)
    result = phq9(key_client, 22)
    with pytest.raises(ValidationError, match="已被他人修改"):
        services.do_set_colour(
            actor=district_admin, warning=warning, result=result, counsellor=counsellor_a, version=warning.version + 1
        )
    assert fresh(warning).state == State.REPORTED


def test_feedback_reaches_street_community_and_counsellor(
    tree, worker, district_admin, street_manager, counsellor_a, key_client, clock
):
    """S-WARN-3: feedback notifies the street, the community and the counsellor; overdue is a query."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    assert not selectors.overdue_feedback(district_admin).exists()
    clock.advance(days=4)
    assert list(selectors.overdue_feedback(district_admin)) == [warning]
    assert [r.dedupe_key.split(":")[0] for r in feedback_due(timezone.now())] == [str(warning.pk)]
    warning = services.do_send_feedback(actor=district_admin, warning=warning, note="请本周内上门")
    got = set(Notification.objects.filter(url=f"/alerts/warnings/{warning.pk}/").values_list("recipient", flat=True))
    assert {worker.pk, street_manager.pk, counsellor_a.pk} <= got
    event = events(warning)[-1]
    assert event.kind == EventKind.FEEDBACK_SENT and event.detail["on_time"] is False
    assert not selectors.overdue_feedback(district_admin).exists()
    with pytest.raises(ValidationError, match="反馈过"):
        services.do_send_feedback(actor=district_admin, warning=warning)


# --- S-WARN-4: cycles -------------------------------------------------------------------------------


def test_cycle_needs_visit_or_contact_inside_window(worker, district_admin, counsellor_a, key_client, clock):
    """S-WARN-4: a cycle completes only with a visit or contact in its window; overdue cycles are queried."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    with pytest.raises(ValidationError, match="上门关怀记录或联系记录"):
        services.do_complete_cycle(actor=counsellor_a, warning=warning)
    clock.advance(days=8)
    assert list(selectors.overdue_cycles(counsellor_a)) == [warning]
    assert [r.user for r in cycles_due(timezone.now())] == [counsellor_a]
    visit(key_client, [counsellor_a, worker])
    warning = services.do_complete_cycle(actor=counsellor_a, warning=warning)
    assert warning.cycle_number == 2 and warning.cycles_in_review == 1
    assert warning.cycle_started == services.today() and warning.cycle_due == services.today() + dt.timedelta(days=7)
    assert not selectors.overdue_cycles(counsellor_a).exists()
    # The same visit cannot count again: the new window starts today, after it... once a day has passed.
    clock.advance(days=1)
    with pytest.raises(ValidationError, match="上门关怀记录或联系记录"):
        services.do_complete_cycle(actor=counsellor_a, warning=warning)


def test_early_cycle_does_not_run_ahead(worker, district_admin, counsellor_a, key_client, clock):
    """S-WARN-4: a cycle finished early lets the next one start at the old due date."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    due = warning.cycle_due
    services.do_record_contact(
        actor=counsellor_a, warning=warning, kind="phone", happened_at=timezone.now(), note="电话了解近况"
    )
    warning = services.do_complete_cycle(actor=counsellor_a, warning=warning)
    assert warning.cycle_started == due
    with pytest.raises(ValidationError):
        services.do_complete_cycle(actor=counsellor_a, warning=warning)


def test_cycle_lengths_are_configurable(tree, worker, district_admin, counsellor_a, key_client):
    """S-WARN-4, S-WARN-6: the tenant's red cycle of 5 days replaces the default 7."""
    services.do_update_policy(
        actor=None, tenant=tree.city,
        data={"red_cycle_days": 5, "orange_cycle_days": 10, "yellow_cycle_days": 20, "feedback_days": 2,
              "review_cycles": 3, "reassess_every": 3, "unchanged_delta": "1.5"},
    )  # fmt: skip
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    assert warning.cycle_days == 5 and warning.feedback_due == services.today() + dt.timedelta(days=2)


def test_policy_validation_and_permission(tree, district_admin):
    """S-WARN-6: bad values change nothing; only the tenant root's configurer may edit."""
    good = {"red_cycle_days": 7, "orange_cycle_days": 14, "yellow_cycle_days": 30, "feedback_days": 3,
            "review_cycles": 3, "reassess_every": 3, "unchanged_delta": 2}  # fmt: skip
    with pytest.raises(ValidationError, match="红色随访周期"):
        services.do_update_policy(actor=None, tenant=tree.city, data={**good, "red_cycle_days": 0})
    with pytest.raises(ValidationError, match="根单位"):
        services.do_update_policy(actor=district_admin, tenant=tree.city, data=good)
    with pytest.raises(ValidationError, match="同一量表"):
        services.do_update_policy(
            actor=None, tenant=tree.city, data=good, rules=[("PHQ-9", "mild", 1), ("PHQ-9", "mild", 2)]
        )
    assert not AlertPolicy.objects.exists() and not ColourRule.objects.exists()


def run_cycles(warning, client, counsellor, clock, scores):
    """Complete one cycle per score (a contact each time; the score is a re-assessment when given)."""
    for score in scores:
        clock.advance(days=warning.cycle_days)
        services.do_record_contact(
            actor=counsellor, warning=warning, kind="face", happened_at=timezone.now(), note="约谈"
        )
        if score is not None:
            phq9(client, score)
        warning = services.do_complete_cycle(actor=counsellor, warning=warning)
    return warning


def test_reassessment_due_in_the_review_cycle(worker, district_admin, counsellor_a, key_client, clock):
    """S-WARN-4: the third cycle needs a re-assessment on the basis scale."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    warning = run_cycles(warning, key_client, counsellor_a, clock, [None, None])
    clock.advance(days=7)
    services.do_record_contact(actor=counsellor_a, warning=warning, kind="face", happened_at=timezone.now(), note="x")
    with pytest.raises(ValidationError, match="复评"):
        services.do_complete_cycle(actor=counsellor_a, warning=warning)


# --- S-WARN-5: proposals, colour changes, control flow, closing ----------------------------------------------


def test_unchanged_score_after_three_cycles_proposes_control(worker, district_admin, counsellor_a, key_client, clock):
    """S-WARN-5: |Δscore| ≤ 2 after three cycles → the system proposes the control flow."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    warning = run_cycles(warning, key_client, counsellor_a, clock, [None, None, 21])
    assert warning.proposal == Proposal.CONTROL and warning.cycle_number == 4
    proposal = events(warning)[-1]
    assert proposal.kind == EventKind.PROPOSAL_MADE and proposal.scores["baseline"] == "22.00"
    with pytest.raises(ValidationError, match="机构名称"):
        services.do_enter_control(actor=district_admin, warning=warning, measures=["referral"], reason="分值基本不变")
    warning = services.do_enter_control(
        actor=district_admin, warning=warning, measures=["supervision", "tracking", "referral"],
        reason="三个周期分值基本不变", institution="市精神卫生中心",
    )  # fmt: skip
    assert warning.state == State.CONTROL and warning.control_measures == ["supervision", "tracking", "referral"]
    assert events(warning)[-1].detail["institution"] == "市精神卫生中心"


def test_changed_score_proposes_adjustment(worker, district_admin, counsellor_a, key_client, clock):
    """S-WARN-5: a score that changed beyond the threshold → propose the colour of the new score."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    warning = run_cycles(warning, key_client, counsellor_a, clock, [None, None, 8])
    assert warning.proposal == Proposal.ADJUST and warning.proposal_colour == Colour.YELLOW


def test_unchanged_threshold_is_configurable(tree, worker, district_admin, counsellor_a, key_client, clock):
    """S-WARN-6: with "essentially unchanged" = 5 points a drop of 4 proposes control."""
    services.do_update_policy(
        actor=None, tenant=tree.city,
        data={"red_cycle_days": 7, "orange_cycle_days": 14, "yellow_cycle_days": 30, "feedback_days": 3,
              "review_cycles": 3, "reassess_every": 3, "unchanged_delta": 5},
    )  # fmt: skip
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    warning = run_cycles(warning, key_client, counsellor_a, clock, [None, None, 18])
    assert warning.proposal == Proposal.CONTROL


def test_lowering_red_needs_district_permission_and_reason(
    worker, district_admin, district_officer, counsellor_a, key_client
):
    """S-WARN-5: a red is lowered only by a holder of alert.lower_red, with a reason; who/when/why is kept."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    with pytest.raises(ValidationError, match="区级负责人"):
        services.do_change_colour(actor=district_officer, warning=warning, colour=Colour.ORANGE, reason="好转")
    with pytest.raises(ValidationError, match="调整原因"):
        services.do_change_colour(actor=district_admin, warning=warning, colour=Colour.ORANGE, reason="")
    assert fresh(warning).colour == Colour.RED
    result = phq9(key_client, 11)
    warning = services.do_change_colour(
        actor=district_admin, warning=warning, colour=Colour.ORANGE, reason="复评分值明显下降", result=result
    )
    event = events(warning)[-1]
    assert (event.kind, event.actor, event.from_colour, event.to_colour) == (
        EventKind.COLOUR_CHANGED, district_admin, Colour.RED, Colour.ORANGE,
    )  # fmt: skip
    assert event.reason == "复评分值明显下降" and event.scores["score"] == "11.00"
    assert warning.cycle_days == 14 and warning.feedback_sent_at is None
    # Raising to red is open to the officer.
    warning = services.do_change_colour(actor=district_officer, warning=warning, colour=Colour.RED, reason="反复")
    assert warning.colour == Colour.RED


def test_red_cannot_be_closed(worker, district_admin, counsellor_a, key_client):
    """S-WARN-5: a warning closes only with no open red flag."""
    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    with pytest.raises(ValidationError, match="红色预警不能直接结案"):
        services.do_close(actor=district_admin, warning=warning, reason="稳定")
    warning = services.do_change_colour(actor=district_admin, warning=warning, colour=Colour.YELLOW, reason="稳定")
    warning = services.do_close(actor=district_admin, warning=warning, reason="连续复评正常")
    assert warning.state == State.CLOSED and events(warning)[-1].kind == EventKind.CLOSED
    # The client may be tagged again after closing.
    assert tag(worker, key_client).state == State.REPORTED


def test_red_result_is_reported_automatically(worker, key_client, district_admin, django_capture_on_commit_callbacks):
    """S-WARN-1: a result that calls for red files a report at once, so no red case waits unnoticed."""
    with django_capture_on_commit_callbacks(execute=True):
        phq9(key_client, 4, item9=2)
    with unscoped("test assertion"):
        warning = Warning.objects.get(client=key_client)
    assert warning.state == State.REPORTED and warning.proposed_colour == Colour.RED
    assert "危急条目" in warning.reason
    with django_capture_on_commit_callbacks(execute=True):
        phq9(key_client, 24)
    with unscoped("test assertion"):
        assert Warning.objects.filter(client=key_client).count() == 1


def test_audit_rows_are_written(worker, district_admin, counsellor_a, key_client):
    """S-WARN-3: every change of a warning is audited in the same transaction, reason hidden."""
    from apps.audit.models import AuditEntry

    warning = opened(worker, district_admin, counsellor_a, key_client, total=22)
    rows = AuditEntry.objects.filter(object_type__icontains="warning", object_id=str(warning.pk))
    assert rows.count() >= 2
    assert "拒绝出门" not in str(list(rows.values_list("changes", flat=True)))
