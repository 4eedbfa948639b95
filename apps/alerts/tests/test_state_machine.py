"""Random sequences of tagging, scoring, feedback, cycles, colour changes, escalation and closing.

Hypothesis drives the services in any order with any of the actors; whatever happens, a red never
falls through: it is never lowered without the district permission and a reason, always has a
responder who was told, never closes, and every transition leaves an event row.

Contacts and home visits happen at random moments before and after the tag, the colour and the start
of each cycle (issue 13 item 2): a cycle completes only on a contact or visit inside it, each counts
once, and a contact recorded now in the current cycle always counts.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from apps.alerts import services
from apps.alerts.choices import Colour, EventKind, State
from apps.alerts.models import ContactRecord, FollowUpCycle, Warning, WarningEvent
from apps.clients.services import do_register_client
from apps.core.access import can
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.notifications.models import Notification
from apps.outreach.services import do_plan_visit, do_record_visit

from .conftest import phq9

# Transitions that save the warning (bump its version) — each writes exactly one event of these kinds.
SAVING_EVENTS = {
    EventKind.COLOUR_SET, EventKind.FEEDBACK_SENT, EventKind.CYCLE_COMPLETED, EventKind.COLOUR_CHANGED,
    EventKind.TRACKING_CONTINUED, EventKind.CONTROL_ENTERED, EventKind.RESPONDER_CHANGED, EventKind.CLOSED,
}  # fmt: skip
SEEN: set[str] = set()
FAILED: dict = {}
REASONS = st.sampled_from(["", "   ", "复评分值变化", "家属反映情况好转", "持续跟踪观察", "情况稳定"])
COLOURS = st.sampled_from([1, 2, 3, 3, 0])
# Where a contact or visit is dated: relative to now, the tag, the colour being set or the current cycle's
# start, minutes either side (close calls around the minute, and days away).
ANCHORS = st.sampled_from(["now", "tagged", "colour_set", "cycle"])
OFFSETS = st.one_of(st.integers(-3, 3), st.integers(-180, 180), st.integers(-6 * 1440, 2 * 1440))


def minute(moment):
    return moment.replace(second=0, microsecond=0)


class WarningMachine(RuleBasedStateMachine):
    """One client's warning file, driven by random acts of random people."""

    people: dict = {}
    clock = None
    tree = None
    serial = 0

    def __init__(self):
        super().__init__()
        WarningMachine.serial += 1
        self.client = do_register_client(actor=None, unit=self.tree.c1, data={"name": f"随机{self.serial}"})
        self.warning = None
        self.last_colour = Colour.NONE

    # --- helpers -------------------------------------------------------------------------------------
    def _current(self):
        with unscoped("state machine check"):
            return Warning.objects.filter(client=self.client).select_related("counsellor").order_by("-id").first()

    def _events(self, warning):
        with unscoped("state machine check"):
            return list(WarningEvent.objects.filter(warning=warning).order_by("id"))

    def _contacts(self):
        with unscoped("state machine check"):
            return ContactRecord.objects.filter(warning__client=self.client).count()

    def _try(self, action, name):
        """Run one act; a refused act must leave the file exactly as it was."""
        before = self._current()
        before_events = len(self._events(before)) if before else 0
        before_contacts = self._contacts()
        try:
            done = action()
            SEEN.add(name)
            return done
        except ValidationError as error:
            FAILED.setdefault(name, set()).add(error.messages[0])
            after = self._current()
            if before is not None:
                assert after.version == before.version and after.state == before.state
                assert after.colour == before.colour
                assert len(self._events(after)) == before_events
            assert self._contacts() == before_contacts
            return None

    def _moment(self, anchor, minutes):
        """A moment ``minutes`` from the anchor (now when the file has no such moment yet)."""
        warning = self._current()
        base = {
            "tagged": warning and warning.tagged_at,
            "colour_set": warning and warning.colour_set_at,
            "cycle": warning and warning.cycle_started_at,
        }.get(anchor) or timezone.now()
        return base + dt.timedelta(minutes=minutes)

    # --- rules -----------------------------------------------------------------------------------------
    @initialize(total=st.integers(0, 24), opened=st.booleans())
    def screened(self, total, opened):
        """Most files start the same way: a worker tags a client who takes a PHQ-9; often the centre opens it."""
        self._try(
            lambda: services.do_tag_key_person(
                actor=self.people["worker"], client=self.client, proposed_colour=2, reason="排查发现情绪低落"
            ),
            "tag",
        )
        result = phq9(self.client, total)
        if opened:
            self._try(
                lambda: services.do_set_colour(
                    actor=self.people["admin"],
                    warning=self._current(),
                    result=result,
                    counsellor=self.people["counsellor"],
                    colour=None if total >= 5 else 1,
                    reason="家属反映",
                ),  # fmt: skip
                "set_colour",
            )

    @rule(who=st.sampled_from(["worker", "admin", "outsider"]), colour=COLOURS, reason=REASONS)
    def tag(self, who, colour, reason):
        self._try(
            lambda: services.do_tag_key_person(
                actor=self.people[who], client=self.client, proposed_colour=colour, reason=reason
            ),
            "tag",
        )

    @rule(rest=st.integers(0, 24), item9=st.integers(0, 3))
    def score(self, rest, item9):
        phq9(self.client, rest + item9, item9)

    @precondition(lambda self: self._current() is not None)
    @rule(
        who=st.sampled_from(["admin", "officer", "officer", "worker"]),
        counsellor=st.sampled_from(["counsellor", "counsellor", "counsellor_b"]),
        colour=st.sampled_from([None, 1, 2, 3]),
        reason=REASONS,
    )
    def set_colour(self, who, counsellor, colour, reason):
        from apps.assessments.selectors import latest_result

        result = latest_result(self.client, "PHQ-9")
        self._try(
            lambda: services.do_set_colour(
                actor=self.people[who],
                warning=self._current(),
                result=result,
                counsellor=self.people[counsellor],
                colour=colour,
                reason=reason,
            ),  # fmt: skip
            "set_colour",
        )

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["admin", "officer", "officer", "counsellor"]))
    def feedback(self, who):
        self._try(lambda: services.do_send_feedback(actor=self.people[who], warning=self._current()), "feedback")

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["counsellor", "counsellor", "worker", "counsellor_b"]))
    def contact(self, who):
        self._try(
            lambda: services.do_record_contact(
                actor=self.people[who],
                warning=self._current(),
                kind="phone",
                happened_at=timezone.now(),
                note="电话随访",
            ),  # fmt: skip
            "contact",
        )

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["counsellor", "counsellor", "worker"]), anchor=ANCHORS, minutes=OFFSETS)
    def contact_at(self, who, anchor, minutes):
        """A contact dated anywhere: before the tag, the colour, the cycle, or in the future."""
        self._try(
            lambda: services.do_record_contact(
                actor=self.people[who],
                warning=self._current(),
                kind="face",
                happened_at=self._moment(anchor, minutes),
                note="约谈",
            ),  # fmt: skip
            "contact_at",
        )

    @rule(anchor=ANCHORS, minutes=OFFSETS)
    def home_visit(self, anchor, minutes):
        """A home visit (apps.outreach) at any moment, even before any warning exists; never refused for that."""
        staff = [self.people["counsellor"], self.people["worker"]]
        visited_at = self._moment(anchor, minutes)
        planned = do_plan_visit(
            actor=staff[0], client=self.client, kind="ad_hoc", planned_for=timezone.localdate(), staff=staff
        )
        self._try(
            lambda: do_record_visit(
                actor=staff[0],
                visit=planned,
                visited_at=visited_at,
                staff=staff,
                family_present="母亲",
                record="上门关怀",
            ),  # fmt: skip
            "home_visit",
        )

    @precondition(lambda self: self._current() is not None and self._current().state in ("open", "control"))
    @rule(seconds=st.integers(0, 59))
    def contact_now_counts(self, seconds):
        """A contact recorded now (to the minute, as the form's default) always completes the current cycle."""
        self.clock.advance(seconds=seconds)
        warning = self._current()
        services.do_record_contact(
            actor=self.people["counsellor"], warning=warning, kind="phone",
            happened_at=minute(timezone.localtime()), note="电话随访",
        )  # fmt: skip
        try:
            services.do_complete_cycle(actor=self.people["counsellor"], warning=warning)
            SEEN.add("contact_now_counts")
        except ValidationError as error:
            assert error.code == "reassessment", error.messages  # never "no contact in this cycle"

    @rule(days=st.integers(0, 20), minutes=st.sampled_from([0, 0, 1, 7 * 60, 13 * 60 + 59]))
    def time_passes(self, days, minutes):
        self.clock.advance(days=days, minutes=minutes)

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["counsellor", "counsellor", "worker", "counsellor_b"]))
    def complete_cycle(self, who):
        self._try(lambda: services.do_complete_cycle(actor=self.people[who], warning=self._current()), "complete_cycle")

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["admin", "admin", "officer", "worker"]), colour=COLOURS, reason=REASONS)
    def change_colour(self, who, colour, reason):
        self._try(
            lambda: services.do_change_colour(
                actor=self.people[who], warning=self._current(), colour=colour, reason=reason
            ),
            "change_colour",
        )

    @precondition(lambda self: self._current() is not None)
    @rule(
        who=st.sampled_from(["admin", "officer", "worker"]),
        measures=st.lists(st.sampled_from(["supervision", "tracking", "referral", "bogus"]), max_size=3),
        institution=st.sampled_from(["", "市精神卫生中心"]),
        reason=REASONS,
    )
    def enter_control(self, who, measures, institution, reason):
        self._try(
            lambda: services.do_enter_control(
                actor=self.people[who],
                warning=self._current(),
                measures=measures,
                reason=reason,
                institution=institution,
            ),  # fmt: skip
            "enter_control",
        )

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["admin", "officer"]), reason=REASONS)
    def continue_tracking(self, who, reason):
        self._try(
            lambda: services.do_continue_tracking(actor=self.people[who], warning=self._current(), reason=reason),
            "continue_tracking",
        )

    @precondition(lambda self: self._current() is not None)
    @rule(who=st.sampled_from(["admin", "officer", "officer", "worker"]), reason=REASONS)
    def close(self, who, reason):
        self._try(lambda: services.do_close(actor=self.people[who], warning=self._current(), reason=reason), "close")

    # --- invariants ----------------------------------------------------------------------------------------
    @invariant()
    def every_transition_has_an_event(self):
        with unscoped("state machine check"):
            warnings = list(Warning.objects.filter(client=self.client))
        for warning in warnings:
            rows = self._events(warning)
            assert rows and rows[0].kind == EventKind.TAGGED
            assert sum(1 for e in rows if e.kind in SAVING_EVENTS) == warning.version - 1
            assert rows[-1].to_state == warning.state or rows[-1].kind in (
                EventKind.CONTACT_RECORDED, EventKind.PROPOSAL_MADE,
            )  # fmt: skip

    @invariant()
    def red_never_lowered_without_district_role_and_reason(self):
        with unscoped("state machine check"):
            lowered = list(
                WarningEvent.objects.filter(
                    warning__client=self.client, from_colour=Colour.RED, to_colour__lt=Colour.RED
                )
                .exclude(to_colour=Colour.NONE)
                .select_related("actor", "warning")
            )
        for event in lowered:
            assert event.kind == EventKind.COLOUR_CHANGED
            assert event.actor is not None and can(event.actor, Perm.ALERT_LOWER_RED, event.warning)
            assert event.reason.strip()

    @invariant()
    def every_red_has_a_responder_who_was_told(self):
        warning = self._current()
        if warning is not None and warning.colour == Colour.RED:
            assert warning.counsellor is not None
            assert Notification.objects.filter(
                recipient=warning.counsellor, url=f"/alerts/warnings/{warning.pk}/"
            ).exists()

    @invariant()
    def a_cycle_completes_only_on_a_contact_or_visit_inside_it(self):
        """S-WARN-4: never on one dated before the file existed, before the cycle began, or after it ended."""
        with unscoped("state machine check"):
            cycles = list(
                FollowUpCycle.objects.filter(warning__client=self.client)
                .select_related("warning", "visit", "contact")
                .order_by("warning_id", "number")
            )
        used, previous = set(), None
        for cycle in cycles:
            warning = cycle.warning
            evidence = cycle.visit.visited_at if cycle.visit_id else cycle.contact.happened_at
            assert cycle.started_at is not None and cycle.completed_at is not None
            assert evidence >= minute(warning.tagged_at) and evidence >= minute(cycle.started_at)
            assert evidence <= cycle.completed_at + services.FUTURE_TOLERANCE
            assert cycle.started_at >= warning.colour_set_at
            if previous is not None and previous.warning_id == cycle.warning_id:
                assert cycle.number == previous.number + 1 and cycle.started_at == previous.completed_at
            key = ("visit", cycle.visit_id) if cycle.visit_id else ("contact", cycle.contact_id)
            assert key not in used  # a visit or contact counts for one cycle only
            used.add(key)
            previous = cycle

    @invariant()
    def no_contact_predates_its_file_or_lies_in_the_future(self):
        with unscoped("state machine check"):
            rows = list(ContactRecord.objects.filter(warning__client=self.client).select_related("warning"))
        for row in rows:
            assert row.happened_at >= minute(row.warning.tagged_at)
            assert row.happened_at <= row.created_at + services.FUTURE_TOLERANCE

    @invariant()
    def no_closed_warning_is_red(self):
        with unscoped("state machine check"):
            assert not Warning.objects.filter(client=self.client, state=State.CLOSED, colour=Colour.RED).exists()
            assert Warning.objects.filter(client=self.client).exclude(state=State.CLOSED).count() <= 1


@pytest.mark.django_db
def test_random_sequences_keep_red_cases_safe(
    tree, worker, district_admin, district_officer, counsellor_a, counsellor_b, outsider, clock
):
    """S-WARN-1, S-WARN-2, S-WARN-3, S-WARN-4, S-WARN-5: invariants hold under any sequence of acts.

    S-WARN-4 (issue 13): contacts and visits at random moments around the tag, the colour and each
    cycle; a cycle completes only on a contact or visit inside it; a contact recorded now always counts.
    """
    WarningMachine.tree = tree
    WarningMachine.clock = clock
    WarningMachine.people = {
        "worker": worker,
        "admin": district_admin,
        "officer": district_officer,
        "counsellor": counsellor_a,
        "counsellor_b": counsellor_b,
        "outsider": outsider,
    }
    run_state_machine_as_test(
        WarningMachine,
        settings=settings(
            max_examples=30, stateful_step_count=30, derandomize=True, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )  # fmt: skip
    # The run reached the main acts, so the invariants were not checked on an idle file. (Which random runs reach a
    # completed cycle or the control flow varies with the clock; test_rules.py and the browser test cover those.)
    assert {"tag", "set_colour", "feedback", "change_colour", "close"} <= SEEN
    assert {"contact_at", "home_visit", "contact_now_counts"} <= SEEN
    assert "contact_at" in FAILED  # some random contacts were refused (before the cycle, or in the future)
