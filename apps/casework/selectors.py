"""Reads of casework, always scoped; session notes only for the people who need them (S-PRIN-3)."""

from apps.accounts.models import Assignment, User
from apps.audit.services import log_read
from apps.core.access import access_by_id, active_grant, can, scope
from apps.core.perms import Perm

from .choices import CaseState
from .models import Case, ConfidentialityOverride, Consent, CounsellingSession, Reception
from .services import NOTE_READER_ROLES


def visible_cases(user, state: str = ""):
    rows = Case.objects.visible_to(user, Perm.CLIENT_VIEW).select_related("client", "unit", "counsellor")
    if state:
        rows = rows.filter(state=state)
    return rows


def case_list_state(params) -> str:
    """The case list's ``state`` filter: a known state, or "" (all) for anything else."""
    state = params.get("state", "")
    return state if state in CaseState.values else ""


def list_cases(user, params):
    """The case list's rows (every page) for its GET parameters."""
    return visible_cases(user, case_list_state(params))


def access_case(user, pk, perm: str = Perm.CLIENT_VIEW) -> Case:
    return access_by_id(Case.objects.select_related("client", "unit", "counsellor"), pk, user, perm)


def case_events(case: Case):
    return case.events.select_related("recorded_by", "from_counsellor", "to_counsellor").order_by("id")


def case_consents(user, case: Case):
    return scope(Consent.objects.filter(case=case), user, Perm.CLIENT_VIEW).select_related("recorded_by").order_by("id")


def case_sessions(user, case: Case):
    """The case's sessions for a list: never the notes (the template shows none)."""
    return (
        scope(CounsellingSession.objects.filter(case=case), user, Perm.NOTE_VIEW)
        .select_related("counsellor")
        .order_by("happened_at", "id")
    )


def case_overrides(user, case: Case):
    return scope(ConfidentialityOverride.objects.filter(case=case), user, Perm.CLIENT_VIEW).select_related("actor")


def visible_sessions(user):
    return CounsellingSession.objects.visible_to(user, Perm.NOTE_VIEW).select_related("case", "counsellor")


def access_session(user, pk) -> CounsellingSession:
    return access_by_id(
        CounsellingSession.objects.select_related("case", "case__client", "case__unit", "counsellor"),
        pk,
        user,
        Perm.NOTE_VIEW,
    )


def can_read_notes(user, session: CounsellingSession) -> bool:
    """The case's counsellor (a psychiatrist too: only for cases assigned or referred to them), or a
    district role holding NOTE_VIEW over the unit (issue 14)."""
    grant = active_grant(user)
    if grant is None or not can(user, Perm.NOTE_VIEW, session):
        return False
    return session.case.counsellor_id == user.pk or grant.role_code in NOTE_READER_ROLES


def read_session_notes(user, session: CounsellingSession, request=None, purpose: str = "查看咨询记录") -> bool:
    """Whether ``user`` may see the notes; if so the read is audited (every time)."""
    if not can_read_notes(user, session):
        return False
    log_read(user, session, purpose=purpose, request=request)
    return True


def visible_receptions(user):
    return Reception.objects.visible_to(user, Perm.CLIENT_VIEW).select_related("client", "unit", "receptionist")


def access_reception(user, pk, perm: str = Perm.CLIENT_MANAGE) -> Reception:
    return access_by_id(Reception.objects.select_related("client", "unit", "receptionist", "case"), pk, user, perm)


def visible_consents(user):
    return Consent.objects.visible_to(user, Perm.CLIENT_VIEW).select_related("recorded_by")


def counsellor_choices(user, unit=None):
    """Active users holding a counselling role through an assignment inside ``user``'s subtree (and, given a
    unit, at it or above it: ``accounts.selectors.counsellors_over``) — the people this user may see and assign."""
    from apps.accounts.roles import COUNSELLING_ROLES

    grant = active_grant(user)
    if grant is None:
        return User.objects.none()
    assignments = Assignment.objects.filter(
        unit__path__startswith=grant.unit_path, unit__is_active=True, user__is_active=True
    ).select_related("unit", "role")
    ids = {
        a.user_id
        for a in assignments
        if a.role.code in COUNSELLING_ROLES and (unit is None or unit.path.startswith(a.unit.path))
    }
    return User.objects.filter(pk__in=ids).order_by("full_name", "id")
