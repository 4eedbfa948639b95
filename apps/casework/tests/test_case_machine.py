"""The case state machine is sound (issue 13 item 3): every non-final state has a legal way out, for an
adult and for a minor with, without or after losing a guardian; a requested case can be withdrawn; a
minor's service starts only with a consenting guardian or under the standard's crisis clause."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.casework import services
from apps.casework.choices import CaseState
from apps.casework.models import Case, CaseEvent
from apps.clients.services import do_add_guardian, do_end_guardian, do_register_client
from apps.core.scoping import unscoped

GUARDIAN = {
    "name": "王建国",
    "relationship": "父亲",
    "phone": "13800138011",
    "consent": True,
    "consent_method": "written",
}


def sixteen_years_ago() -> datetime.date:
    """A birth date that makes a client 15 or 16 today, whatever today is (02-29 and 12-31 included)."""
    return timezone.localdate() - datetime.timedelta(days=16 * 365)


def register(tree, name, birth_date):
    return do_register_client(actor=None, unit=tree.c1, data={"name": name, "birth_date": birth_date})


def case_counts_of(client):
    """Cases and events of ``client`` and case audit rows: what a refusal must leave unchanged."""
    with unscoped("test"):
        return (
            Case.objects.filter(client_id=client.pk).count(),
            CaseEvent.objects.filter(case__client_id=client.pk).count(),
            AuditEntry.objects.filter(object_type="casework.case").count(),
        )


def case_counts(case):
    return case_counts_of(case.client)


# --- the persona a case belongs to, and who may ask for service acts on its behalf --------------------


class Persona:
    """How one kind of client reaches a state: who asks for the acts that start or continue service."""

    def __init__(self, tree, actor, kind):
        self.actor, self.kind = actor, kind
        if kind == "adult":
            self.client = register(tree, "成年来访者", datetime.date(1980, 1, 1))
        else:
            self.client = register(tree, "未成年来访者", sixteen_years_ago())
        self.guardian = None
        if kind in ("minor_with_guardian", "minor_guardian_ended"):
            self.guardian = do_add_guardian(actor=actor, client=self.client, data=GUARDIAN)

    @property
    def service_request(self) -> dict:
        """Arguments for opening, activating or referring: by the client, the guardian, or under the crisis clause."""
        if self.kind == "adult":
            return {"requested_by": "client"}
        if self.kind == "minor_crisis":
            return {"requested_by": "counsellor", "crisis_ground": "suicide"}
        return {"requested_by": "guardian"}

    def open(self) -> Case:
        return services.do_open_case(
            actor=self.actor, client=self.client, counsellor=self.actor, reason="申请咨询", **self.service_request
        )

    def move(self, case, to_state):
        request = self.service_request if to_state in services.CONSENT_STATES else {"requested_by": "client"}
        services.do_transition_case(actor=self.actor, case=case, to_state=to_state, reason="按来访者意愿", **request)

    def after_build(self):
        """The issue's walk: the guardian goes away while the case is open (or there never was one)."""
        if self.kind == "minor_guardian_ended":
            do_end_guardian(actor=self.actor, guardian=self.guardian, reason="监护关系变更")


# How each state is reached from "requested", through the services.
BUILD = {
    CaseState.REQUESTED: [],
    CaseState.ACTIVE: [CaseState.ACTIVE],
    CaseState.PAUSED: [CaseState.ACTIVE, CaseState.PAUSED],
    CaseState.POSTPONED: [CaseState.ACTIVE, CaseState.POSTPONED],
    CaseState.TERMINATED: [CaseState.ACTIVE, CaseState.TERMINATED],
    CaseState.REFERRED: [CaseState.ACTIVE, CaseState.REFERRED],
}
PERSONAS = ("adult", "minor_with_guardian", "minor_guardian_ended", "minor_crisis")


def test_the_machine_has_final_states_only_at_its_ends():
    """S-PRIN-1: closed and withdrawn are the only final states; from every other state a way out that
    no guardian rule blocks leads, step by step, to a final state."""
    assert services.FINAL_STATES == {CaseState.CLOSED, CaseState.WITHDRAWN}
    assert set(BUILD) == set(CaseState.values) - services.FINAL_STATES
    for state in set(CaseState.values) - services.FINAL_STATES:
        seen, frontier = set(), {state}
        while frontier:
            current = frontier.pop()
            seen.add(current)
            frontier |= (services.TRANSITIONS[current] & services.EXIT_STATES) - seen
        assert seen & services.FINAL_STATES, f"no way out of {state}"


@pytest.mark.parametrize("kind", PERSONAS)
def test_every_non_final_state_has_a_legal_way_out(tree, counsellor_a, kind):
    """S-PRIN-1, S-CLIENT-4: each non-final state, built through the services for an adult and for a
    minor (with a guardian, after the guardian was ended, or opened under the crisis clause without
    one), can be left through the services: by the client's own request, or closed by the counsellor."""
    for state, path in BUILD.items():
        exits = services.TRANSITIONS[state] & services.EXIT_STATES
        assert exits, f"{state} has no way out"
        for exit_state in sorted(exits):
            persona = Persona(tree, counsellor_a, kind)
            case = persona.open()
            for step in path:
                persona.move(case, step)
            persona.after_build()
            case.refresh_from_db()
            assert case.state == state
            requester = "counsellor" if exit_state == CaseState.CLOSED and state != CaseState.ACTIVE else "client"
            services.do_transition_case(
                actor=counsellor_a, case=case, to_state=exit_state, requested_by=requester, reason="来访者要求结束"
            )
            case.refresh_from_db()
            assert case.state == exit_state, (kind, state, exit_state)
            while case.state not in services.FINAL_STATES:  # and on to the end: terminate, then close
                step = CaseState.CLOSED if CaseState.CLOSED in services.TRANSITIONS[case.state] else "terminated"
                services.do_transition_case(
                    actor=counsellor_a,
                    case=case,
                    to_state=step,
                    requested_by="counsellor" if step == CaseState.CLOSED else "client",
                    reason="结案" if step == CaseState.CLOSED else "来访者要求终止",
                )
                case.refresh_from_db()
            # the client is free again: a new request is possible
            with unscoped("test"):
                assert not Case.objects.filter(client=persona.client, state__in=services.OPEN_STATES).exists()


def test_sixteen_year_old_without_guardian_can_pause_and_terminate(tree, counsellor_a):
    """S-PRIN-1, S-CLIENT-4 (issue 13 item 3): a 16-year-old registered without a guardian, whose case
    was started in a crisis, can pause and then terminate at their own request."""
    client = register(tree, "高一学生", sixteen_years_ago())
    assert services.is_minor(client) and not client.guardians.exists()
    case = services.do_open_case(
        actor=counsellor_a,
        client=client,
        counsellor=counsellor_a,
        requested_by="counsellor",
        crisis_ground="suicide",
        reason="接待中流露轻生念头，来不及联系监护人",
    )
    services.do_transition_case(
        actor=counsellor_a,
        case=case,
        to_state="active",
        requested_by="client",
        reason="危机干预",
        crisis_ground="suicide",
    )
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="paused", requested_by="client", reason="想歇一歇"
    )
    # resuming is a service act again: it needs the guardian (or a new crisis)
    with pytest.raises(ValidationError, match="须由监护人提出") as refused:
        services.do_transition_case(
            actor=counsellor_a, case=case, to_state="active", requested_by="client", reason="回来"
        )
    assert "requested_by" in refused.value.error_dict
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="terminated", requested_by="client", reason="不想继续"
    )
    case.refresh_from_db()
    assert case.state == "terminated"
    assert [e.requested_by for e in case.events.all()] == ["counsellor", "client", "client", "client"]
    http = HttpClient()
    http.force_login(counsellor_a)
    page = http.get(f"/casework/cases/{case.pk}/").content.decode()
    assert "没有在册并已同意的监护人" in page and "危机例外：自杀或自伤意图" in page


def test_minor_service_needs_a_consenting_guardian(tree, counsellor_a):
    """S-CLIENT-4: opening or starting a minor's service without a current, consenting guardian is
    refused on the requester field and writes nothing; with one added on the client's page it works."""
    client = register(tree, "初二学生", sixteen_years_ago())
    before = case_counts_of(client)
    for requester in ("client", "counsellor", "guardian"):
        with pytest.raises(ValidationError) as refused:
            services.do_open_case(actor=counsellor_a, client=client, counsellor=counsellor_a, requested_by=requester)
        assert "requested_by" in refused.value.error_dict
    assert case_counts_of(client) == before
    guardian = do_add_guardian(actor=counsellor_a, client=client, data=GUARDIAN)
    case = services.do_open_case(actor=counsellor_a, client=client, counsellor=counsellor_a, requested_by="guardian")
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="active", requested_by="guardian", reason="开始"
    )
    services.do_transition_case(
        actor=counsellor_a, case=case, to_state="paused", requested_by="guardian", reason="考试"
    )
    do_end_guardian(actor=counsellor_a, guardian=guardian, reason="监护关系变更")
    with pytest.raises(ValidationError, match="没有在册的监护人"):
        services.do_transition_case(
            actor=counsellor_a, case=case, to_state="active", requested_by="guardian", reason="恢复"
        )
    case.refresh_from_db()
    assert case.state == "paused"


def test_crisis_exception_is_recorded_and_checked(tree, counsellor_a):
    """S-CLIENT-4, S-PRIN-5: the crisis clause needs a valid ground and a reason, and is recorded on the
    event and in the audit trail."""
    client = register(tree, "初三学生", sixteen_years_ago())
    with pytest.raises(ValidationError) as refused:
        services.do_open_case(actor=counsellor_a, client=client, requested_by="counsellor", crisis_ground="bored")
    assert "crisis_ground" in refused.value.error_dict
    with pytest.raises(ValidationError) as refused:
        services.do_open_case(actor=counsellor_a, client=client, requested_by="counsellor", crisis_ground="suicide")
    assert "reason" in refused.value.error_dict
    case = services.do_open_case(
        actor=counsellor_a, client=client, requested_by="counsellor", crisis_ground="suicide", reason="自述不想活了"
    )
    event = case.events.get()
    assert event.crisis_ground == "suicide" and event.requested_by == "counsellor"
    entry = AuditEntry.objects.filter(object_type="casework.case", object_id=str(case.pk)).get()
    assert "危机例外" in entry.purpose


def test_requested_case_can_be_withdrawn_so_one_open_case_never_blocks(tree, counsellor_a):
    """S-PRIN-1: a requested case is withdrawn at the client's or guardian's request (who and why recorded);
    it no longer counts as open, so a new request is possible; a counsellor cannot withdraw it."""
    client = register(tree, "赵敏", datetime.date(1985, 6, 1))
    case = services.do_open_case(actor=counsellor_a, client=client, counsellor=counsellor_a)
    with pytest.raises(ValidationError, match="撤回申请") as refused:
        services.do_open_case(actor=counsellor_a, client=client)
    assert "client" in refused.value.error_dict and f"#{case.pk}" in str(refused.value)
    counts = case_counts(case)
    with pytest.raises(ValidationError, match="撤回申请须由来访者本人或其监护人提出") as refused:
        services.do_transition_case(
            actor=counsellor_a, case=case, to_state="withdrawn", requested_by="counsellor", reason="联系不上"
        )
    assert "requested_by" in refused.value.error_dict
    with pytest.raises(ValidationError, match="请填写变更原因"):
        services.do_transition_case(
            actor=counsellor_a, case=case, to_state="withdrawn", requested_by="client", reason=""
        )
    case.refresh_from_db()
    assert case.state == "requested" and case_counts(case) == counts
    event = services.do_transition_case(
        actor=counsellor_a, case=case, to_state="withdrawn", requested_by="client", reason="已在医院就诊，不再需要"
    )
    case.refresh_from_db()
    assert case.state == "withdrawn" and case.closed_at is not None
    assert (event.requested_by, event.reason, event.recorded_by_id) == (
        "client",
        "已在医院就诊，不再需要",
        counsellor_a.pk,
    )
    with pytest.raises(ValidationError, match="不能变更为") as refused:
        services.do_transition_case(actor=counsellor_a, case=case, to_state="active", requested_by="client", reason="x")
    assert "to_state" in refused.value.error_dict
    again = services.do_open_case(actor=counsellor_a, client=client, counsellor=counsellor_a)
    assert again.state == "requested"


def test_only_a_requested_case_is_withdrawn(active_case_for_machine, counsellor_a):
    """S-PRIN-1: an active case ends by termination, not withdrawal (the machine stays explicit)."""
    with pytest.raises(ValidationError, match="不能变更为“已撤回申请”"):
        services.do_transition_case(
            actor=counsellor_a, case=active_case_for_machine, to_state="withdrawn", requested_by="client", reason="x"
        )


def test_guardian_request_needs_a_current_guardian_for_consents_too(tree, counsellor_a):
    """S-CLIENT-4: an ended guardian no longer gives consent for the client."""
    client = register(tree, "钱多多", sixteen_years_ago())
    guardian = do_add_guardian(actor=counsellor_a, client=client, data=GUARDIAN)
    services.do_record_consent(actor=counsellor_a, client=client, kind="confidentiality_notice", given_by="guardian")
    do_end_guardian(actor=counsellor_a, guardian=guardian, reason="已变更监护人")
    with pytest.raises(ValidationError, match="没有在册的监护人"):
        services.do_record_consent(
            actor=counsellor_a, client=client, kind="confidentiality_notice", given_by="guardian"
        )


@pytest.fixture
def active_case_for_machine(tree, counsellor_a):
    client = register(tree, "孙成年", datetime.date(1990, 2, 1))
    case = services.do_open_case(actor=counsellor_a, client=client, counsellor=counsellor_a)
    services.do_transition_case(actor=counsellor_a, case=case, to_state="active", requested_by="client", reason="开始")
    return case
