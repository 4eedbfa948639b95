from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import User
from apps.core.access import access_by_id, active_grant, can, scope
from apps.core.forms import report_form, run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, login_only, requires
from apps.membership.selectors import lapsed_member_users, root_path_of
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import Body, LeaveStatus, MeetingStatus
from .forms import (
    AttendanceForm,
    CancelForm,
    DutyReportForm,
    DutyReportRequestForm,
    LeaveDecisionForm,
    LeaveRequestForm,
    MeetingForm,
    MinutesForm,
    ReceiveReportForm,
    WorkReportForm,
)
from .models import DutyReport, Invitation, Meeting

VIEW, MANAGE = Perm.GOVERNANCE_VIEW, Perm.GOVERNANCE_MANAGE
ASSOCIATION_KINDS = (UnitKind.ASSOCIATION, UnitKind.DEPARTMENT, UnitKind.COMMITTEE)


def _units(user):
    rows = OrgUnit.objects.filter(is_active=True, kind__in=ASSOCIATION_KINDS)
    return scope(rows, user, MANAGE).order_by("path")


def _people(user):
    """Active accounts whose home unit or an assignment lies in the actor's subtree."""
    grant = active_grant(user)
    if grant is None:
        return User.objects.none()
    prefix = grant.unit_path
    return (
        User.objects.filter(is_active=True)
        .filter(Q(unit__path__startswith=prefix) | Q(assignments__unit__path__startswith=prefix))
        .exclude(pk__in=lapsed_member_users(root_path_of(prefix)))
        .distinct()
        .order_by("full_name", "id")
    )


def _meeting(request, pk, perm=VIEW):
    return access_by_id(Meeting.objects.select_related("unit"), pk, request.user, perm)


def _render_form(request, form, title, back, intro=""):
    return render(request, "governance/form.html", {"form": form, "title": title, "back": back, "intro": intro})


def _render_meeting_form(request, form, title):
    """The meeting form: groups with select-all first, individual people folded below (H-ORG-5)."""
    return render(request, "governance/meeting_form.html", {"form": form, "title": title})


# --- meetings ----------------------------------------------------------------------------------


@requires(VIEW)
def meeting_list(request):
    """H-ORG-5: meetings in scope, newest first, keyset-paginated."""
    state, body = request.GET.get("state", "").strip(), request.GET.get("body", "").strip()
    body = body if body in Body.values else ""
    page = keyset_page(selectors.meetings(request.user, state=state, body=body), request, descending=True)
    context = {
        "page": page,
        "state": state,
        "body": body,
        "bodies": Body.choices,
        "now": timezone.now(),
        "can_manage": can(request.user, MANAGE),
        "owed_count": selectors.reports_owed(request.user, overdue_only=True).count(),
    }
    return render(request, "governance/meeting_list.html", context)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def meeting_create(request):
    people = _people(request.user)
    groups = selectors.invitation_groups(request.user)
    form = MeetingForm(request.POST or None, units=_units(request.user), people=people, groups=groups)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        meeting = run_service(
            form,
            lambda: services.do_create_meeting(
                actor=request.user, unit=data["unit"], body=data["body"], title=data["title"],
                starts_at=data["starts_at"], place=data["place"], is_work_meeting=data["is_work_meeting"],
                work_report_days=data["work_report_days"], agenda=form.agenda_lines(), invitees=data["invitees"],
                groups=data["groups"], recorded_after_held=data["recorded_after_held"],
            ),
        )  # fmt: skip
        if meeting:
            if meeting.recorded_after_held:
                messages.success(request, "已补录该会议，可登记出席情况和会议纪要。")
            else:
                messages.success(request, "会议已安排，参会人员可在“我的会议”中看到。")
            return redirect("governance:meeting-detail", pk=meeting.pk)
    return _render_meeting_form(request, form, "安排会议")


@requires(VIEW)
def meeting_detail(request, pk):
    meeting = _meeting(request, pk)
    invitations = list(meeting.invitations.select_related("user", "leave_decided_by").order_by("id"))
    context = {
        "meeting": meeting,
        "agenda": list(meeting.agenda.all()),
        "invitations": invitations,
        "duty_reports": list(meeting.duty_reports.select_related("leader")),
        "can_manage": can(request.user, MANAGE, meeting),
        "started": meeting.starts_at <= timezone.now(),
        "today": selectors.today(),
        "leave_form": LeaveDecisionForm(),
        "counts": {
            "present": sum(i.attendance == "present" for i in invitations),
            "excused": sum(i.attendance == "excused" for i in invitations),
            "absent": sum(i.attendance == "absent" for i in invitations),
        },
    }
    return render(request, "governance/meeting_detail.html", context)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def meeting_edit(request, pk):
    meeting = _meeting(request, pk, MANAGE)
    initial = {
        "title": meeting.title, "starts_at": timezone.localtime(meeting.starts_at), "place": meeting.place,
        "is_work_meeting": meeting.is_work_meeting, "work_report_days": meeting.work_report_days,
        "agenda": "\n".join(meeting.agenda.values_list("title", flat=True)),
        "invitees": list(meeting.invitations.values_list("user_id", flat=True)), "version": meeting.version,
    }  # fmt: skip
    people = _people(request.user)
    groups = selectors.invitation_groups(request.user)
    form = MeetingForm(request.POST or None, initial=initial, people=people, groups=groups, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if run_service(
            form,
            lambda: services.do_update_meeting(
                actor=request.user, meeting=meeting, version=data["version"], title=data["title"],
                starts_at=data["starts_at"], place=data["place"], is_work_meeting=data["is_work_meeting"],
                work_report_days=data["work_report_days"], agenda=form.agenda_lines(), invitees=data["invitees"],
                groups=data["groups"],
            ),
        ):  # fmt: skip
            messages.success(request, "会议安排已修改。")
            return redirect("governance:meeting-detail", pk=meeting.pk)
    return _render_meeting_form(request, form, f"修改会议：{meeting.title}")


@requires(MANAGE)
@require_POST
def meeting_cancel(request, pk):
    meeting = _meeting(request, pk, MANAGE)
    form = CancelForm(request.POST)
    if form.is_valid():
        run_service(form, lambda: services.do_cancel_meeting(actor=request.user, meeting=meeting, **form.cleaned_data))
    report_form(request, form, "会议已取消，已通知参会人员。")
    return redirect("governance:meeting-detail", pk=meeting.pk)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def meeting_attendance(request, pk):
    """H-ORG-5: record who was present, excused (approved leave only) or absent."""
    meeting = _meeting(request, pk, MANAGE)
    invitations = meeting.invitations.select_related("user").order_by("id")
    form = AttendanceForm(request.POST or None, invitations=invitations)
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_record_attendance(actor=request.user, meeting=meeting, marks=form.marks())
        ):
            messages.success(request, "出席情况已登记。")
            return redirect("governance:meeting-detail", pk=meeting.pk)
    return _render_form(
        request, form, f"登记出席：{meeting.title}", "governance:meeting-list",
        intro="只有请假已获批准的人员才能登记为“请假”；阶段性工作会议请假的须在会后提交书面工作报告。",
    )  # fmt: skip


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def meeting_minutes(request, pk):
    meeting = _meeting(request, pk, MANAGE)
    initial = {"minutes": meeting.minutes, "resolutions": meeting.resolutions, "version": meeting.version}
    form = MinutesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_record_minutes(actor=request.user, meeting=meeting, **form.cleaned_data)
        ):
            messages.success(request, "会议纪要已保存。")
            return redirect("governance:meeting-detail", pk=meeting.pk)
    return _render_form(request, form, f"会议纪要：{meeting.title}", "governance:meeting-list")


# --- leave and work reports (secretariat) ------------------------------------------------------


def _invitation(request, pk, perm=MANAGE):
    return access_by_id(Invitation.objects.select_related("meeting", "user"), pk, request.user, perm)


@requires(MANAGE)
@require_POST
def leave_decide(request, pk):
    """H-ORG-5: approve or refuse a leave request."""
    invitation = _invitation(request, pk)
    form = LeaveDecisionForm(request.POST)
    if form.is_valid():
        run_service(
            form, lambda: services.do_decide_leave(actor=request.user, invitation=invitation, **form.cleaned_data)
        )
    report_form(request, form, "请假审批已登记。")
    return redirect("governance:meeting-detail", pk=invitation.meeting_id)


@requires(MANAGE)
@require_POST
def report_receive(request, pk):
    """H-ORG-5: record a written work report received on paper."""
    invitation = _invitation(request, pk)
    form = ReceiveReportForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_receive_work_report(actor=request.user, invitation=invitation, **form.cleaned_data),
        )
    report_form(request, form, "书面工作报告已登记收到。")
    if request.POST.get("next") == "reports":
        return redirect("governance:report-list")
    return redirect("governance:meeting-detail", pk=invitation.meeting_id)


@requires(VIEW)
def report_list(request):
    """H-ORG-5: written work reports still owed after an excused absence; overdue ones first."""
    overdue_only = request.GET.get("state") == "overdue"
    rows = list(selectors.reports_owed(request.user, overdue_only=overdue_only)[:500])
    context = {
        "rows": rows,
        "today": selectors.today(),
        "overdue_only": overdue_only,
        "can_manage": can(request.user, MANAGE),
    }
    return render(request, "governance/report_list.html", context)


# --- duty reports ------------------------------------------------------------------------------


@requires(VIEW)
def duty_list(request):
    """H-ORG-5: duty reports by year; ``state=missing`` lists those past due and not received."""
    state = request.GET.get("state", "").strip()
    try:
        year = int(request.GET.get("year", "") or 0) or None
    except ValueError:
        year = None
    page = keyset_page(selectors.duty_reports(request.user, year=year, state=state), request, descending=True)
    context = {
        "page": page,
        "state": state,
        "year": year or "",
        "today": selectors.today(),
        "can_manage": can(request.user, MANAGE),
    }
    return render(request, "governance/duty_list.html", context)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def duty_create(request):
    meetings = scope(Meeting.objects.filter(status=MeetingStatus.SCHEDULED), request.user, MANAGE).order_by("starts_at")
    form = DutyReportRequestForm(
        request.POST or None, initial={"year": selectors.today().year}, units=_units(request.user),
        people=_people(request.user), meetings=meetings,
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_request_duty_report(actor=request.user, **form.cleaned_data)):
            messages.success(request, "已布置述职报告，并通知述职人。")
            return redirect("governance:duty-list")
    return _render_form(request, form, "布置述职报告", "governance:duty-list")


@requires(MANAGE)
@require_POST
def duty_receive(request, pk):
    report = access_by_id(DutyReport.objects.all(), pk, request.user, MANAGE)
    form = ReceiveReportForm(request.POST)
    run_service(form, lambda: services.do_receive_duty_report(actor=request.user, report=report))
    report_form(request, form, "述职报告已登记收到。")
    return redirect("governance:duty-list")


# --- self-service: the invitee's own meetings and reports --------------------------------------


@login_only
def mine(request):
    """H-ORG-5: my upcoming meetings, the work reports and duty reports I still owe."""
    context = {**selectors.meetings_for_user(request.user), "today": selectors.today()}
    return render(request, "governance/mine.html", context)


def _own_invitation(request, pk):
    invitation = selectors.my_invitation(request.user, pk)
    if invitation is None:
        raise Http404
    return invitation


@login_only
@require_http_methods(["GET", "POST"])
def my_leave(request, pk):
    """H-ORG-5: ask for leave from one of my meetings, with a reason, before it starts."""
    invitation = _own_invitation(request, pk)
    form = LeaveRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_request_leave(actor=request.user, invitation=invitation, **form.cleaned_data)
        ):
            messages.success(request, "请假申请已提交，等待秘书处审批。")
            return redirect("governance:mine")
    meeting = invitation.meeting
    intro = f"{meeting.title} · {timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M} · {meeting.place}"
    if invitation.leave_status == LeaveStatus.REFUSED:
        intro += f"（上次请假未获批准：{invitation.leave_decision_note}）"
    return _render_form(request, form, "请假", "governance:mine", intro=intro)


@login_only
@require_http_methods(["GET", "POST"])
def my_report(request, pk):
    """H-ORG-5: submit the written work report owed after an excused absence."""
    invitation = _own_invitation(request, pk)
    form = WorkReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_submit_work_report(actor=request.user, invitation=invitation, **form.cleaned_data)
        ):
            messages.success(request, "书面工作报告已提交。")
            return redirect("governance:mine")
    due = f"，请于 {invitation.report_due:%Y-%m-%d} 前提交" if invitation.report_due else ""
    return _render_form(
        request, form, "提交书面工作报告", "governance:mine", intro=f"{invitation.meeting.title}{due}。"
    )


@login_only
@require_http_methods(["GET", "POST"])
def my_duty(request, pk):
    """H-ORG-5: write or revise my duty report until the secretariat has received it."""
    report = selectors.my_duty_report(request.user, pk)
    if report is None:
        raise Http404
    form = DutyReportForm(request.POST or None, initial={"content": report.content})
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_submit_duty_report(actor=request.user, report=report, **form.cleaned_data)
        ):
            messages.success(request, "述职报告已提交。")
            return redirect("governance:mine")
    intro = f"{report.year} 年度 · {report.position_title} · 提交期限 {report.due_date:%Y-%m-%d}"
    return _render_form(request, form, "述职报告", "governance:mine", intro=intro)
