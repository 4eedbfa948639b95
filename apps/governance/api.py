"""REST endpoints of meetings, invitations (leave and work reports) and duty reports.

xinyuan/urls.py registers every (prefix, viewset, basename) in ROUTES. Services raise Chinese
``ValidationError``s, which ``apps.core.api.exception_handler`` turns into 400s.
"""

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import AUTHENTICATED, Perm
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import Attendance, Body
from .models import DutyReport, Invitation, Meeting

VIEW, MANAGE = Perm.GOVERNANCE_VIEW, Perm.GOVERNANCE_MANAGE


def _people(request, pks):
    """Accounts by id, limited to the caller's subtree (others are silently not found → refused by the service)."""
    from apps.core.access import active_grant

    grant = active_grant(request.user)
    if grant is None or not pks:
        return []
    prefix = grant.unit_path
    rows = User.objects.filter(pk__in=pks).filter(
        Q(unit__path__startswith=prefix) | Q(assignments__unit__path__startswith=prefix)
    )
    found = list(rows.distinct())
    if len(found) != len(set(pks)):
        raise serializers.ValidationError({"invitees": ["所选人员不存在或不在您的管理范围内。"]})
    return found


class InvitationSerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id", "meeting", "user", "user_name", "attendance", "leave_status", "leave_reason", "leave_requested_at",
            "leave_decided_at", "leave_decision_note", "report_due", "report_received_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Meeting
        fields = [
            "id", "unit", "body", "title", "starts_at", "place", "is_work_meeting", "recorded_after_held",
            "work_report_days", "status", "version",
        ]  # fmt: skip
        read_only_fields = fields


class MeetingDetailSerializer(MeetingSerializer):
    agenda = serializers.SerializerMethodField()
    invitations = InvitationSerializer(many=True, read_only=True)

    class Meta(MeetingSerializer.Meta):
        fields = [*MeetingSerializer.Meta.fields, "minutes", "resolutions", "agenda", "invitations"]
        read_only_fields = fields

    def get_agenda(self, obj) -> list[str]:
        return [item.title for item in obj.agenda.all()]


class MeetingWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    body = serializers.ChoiceField(choices=Body.choices)
    title = serializers.CharField(max_length=100)
    starts_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=100)
    is_work_meeting = serializers.BooleanField(default=True)
    work_report_days = serializers.IntegerField(default=7, min_value=1, max_value=60)
    agenda = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    invitees = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    groups = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list,
        help_text="邀请群体：board:<协会id>、standing_board:<协会id>、secretariat:<协会id>、assembly:<协会id>、unit:<部门或专委会id>",
    )  # fmt: skip
    recorded_after_held = serializers.BooleanField(default=False, help_text="补录已召开的会议（开始时间可早于现在）")


class AttendanceSerializer(serializers.Serializer):
    marks = serializers.DictField(
        child=serializers.ChoiceField(choices=[Attendance.PRESENT, Attendance.EXCUSED, Attendance.ABSENT]),
        help_text="邀请编号 → present / excused / absent",
    )


class MinutesSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    minutes = serializers.CharField(max_length=20000)
    resolutions = serializers.CharField(max_length=10000, required=False, allow_blank=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class MeetingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """H-ORG-5: meetings in the caller's scope; ``?state=upcoming|past|cancelled``, ``?body=``."""

    serializer_class = MeetingSerializer
    permission_map = {
        "list": VIEW, "retrieve": VIEW, "create": MANAGE, "attendance": MANAGE, "minutes": MANAGE, "cancel": MANAGE,
    }  # fmt: skip

    def get_queryset(self):
        params = self.request.query_params
        return selectors.meetings(self.request.user, state=params.get("state", ""), body=params.get("body", ""))

    def _get(self, pk, perm):
        return access_by_id(Meeting.objects.select_related("unit"), pk, self.request.user, perm)

    def retrieve(self, request, pk=None):
        meeting = self._get(pk, VIEW)
        return Response(MeetingDetailSerializer(meeting).data)

    def create(self, request):
        data = validated(MeetingWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, MANAGE)
        invitees = _people(request, data.pop("invitees"))
        meeting = services.do_create_meeting(actor=request.user, unit=unit, invitees=invitees, **data)
        return Response(MeetingDetailSerializer(meeting).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], serializer_class=AttendanceSerializer)
    def attendance(self, request, pk=None):
        meeting = self._get(pk, MANAGE)
        data = validated(AttendanceSerializer, request)
        try:
            marks = {int(k): v for k, v in data["marks"].items()}
        except ValueError:
            raise serializers.ValidationError({"marks": ["邀请编号应为数字。"]}) from None
        meeting = services.do_record_attendance(actor=request.user, meeting=meeting, marks=marks)
        return Response(MeetingDetailSerializer(meeting).data)

    @action(detail=True, methods=["post"], serializer_class=MinutesSerializer)
    def minutes(self, request, pk=None):
        meeting = self._get(pk, MANAGE)
        meeting = services.do_record_minutes(
            actor=request.user, meeting=meeting, **validated(MinutesSerializer, request)
        )
        return Response(MeetingDetailSerializer(meeting).data)

    @action(detail=True, methods=["post"], serializer_class=CancelSerializer)
    def cancel(self, request, pk=None):
        meeting = self._get(pk, MANAGE)
        meeting = services.do_cancel_meeting(
            actor=request.user, meeting=meeting, **validated(CancelSerializer, request)
        )
        return Response(MeetingDetailSerializer(meeting).data)


class LeaveDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReceiveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Invitations in scope; ``?owed=1`` work reports still owed, ``?overdue=1`` only overdue ones."""

    serializer_class = InvitationSerializer
    permission_map = {"list": VIEW, "retrieve": VIEW, "decide_leave": MANAGE, "receive_report": MANAGE}

    def get_queryset(self):
        params = self.request.query_params
        if params.get("overdue"):
            return selectors.reports_owed(self.request.user, overdue_only=True)
        if params.get("owed"):
            return selectors.reports_owed(self.request.user)
        return selectors.invitations(self.request.user, self.permission_map.get(self.action, VIEW))

    @action(detail=True, methods=["post"], url_path="decide-leave", serializer_class=LeaveDecisionSerializer)
    def decide_leave(self, request, pk=None):
        invitation = access_by_id(Invitation.objects.all(), pk, request.user, MANAGE)
        data = validated(LeaveDecisionSerializer, request)
        invitation = services.do_decide_leave(actor=request.user, invitation=invitation, **data)
        return Response(InvitationSerializer(invitation).data)

    @action(detail=True, methods=["post"], url_path="receive-report", serializer_class=ReceiveSerializer)
    def receive_report(self, request, pk=None):
        invitation = access_by_id(Invitation.objects.all(), pk, request.user, MANAGE)
        data = validated(ReceiveSerializer, request)
        invitation = services.do_receive_work_report(actor=request.user, invitation=invitation, **data)
        return Response(InvitationSerializer(invitation).data)


class DutyReportSerializer(serializers.ModelSerializer):
    leader_name = serializers.CharField(source="leader.full_name", read_only=True)

    class Meta:
        model = DutyReport
        fields = [
            "id", "unit", "year", "leader", "leader_name", "position_title", "due_date", "meeting", "content",
            "submitted_at", "received_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class DutyRequestSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    leader = serializers.IntegerField()
    position_title = serializers.CharField(max_length=50)
    due_date = serializers.DateField()
    meeting = serializers.IntegerField(required=False, allow_null=True)


class DutyReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """H-ORG-5: duty reports in scope; ``?year=``, ``?state=missing|open|received``."""

    serializer_class = DutyReportSerializer
    permission_map = {"list": VIEW, "retrieve": VIEW, "create": MANAGE, "receive": MANAGE}

    def get_queryset(self):
        params = self.request.query_params
        year = params.get("year", "")
        return selectors.duty_reports(
            self.request.user, year=int(year) if year.isdigit() else None, state=params.get("state", "")
        )

    def create(self, request):
        data = validated(DutyRequestSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, MANAGE)
        leader = _people(request, [data.pop("leader")])[0]
        meeting_pk = data.pop("meeting", None)
        meeting = access_by_id(Meeting.objects.all(), meeting_pk, request.user, MANAGE) if meeting_pk else None
        report = services.do_request_duty_report(actor=request.user, unit=unit, leader=leader, meeting=meeting, **data)
        return Response(DutyReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=DutyReportSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        report = access_by_id(DutyReport.objects.all(), pk, request.user, MANAGE)
        report = services.do_receive_duty_report(actor=request.user, report=report)
        return Response(DutyReportSerializer(report).data)


class MyMeetingSerializer(serializers.Serializer):
    upcoming = InvitationSerializer(many=True)
    reports_owed = InvitationSerializer(many=True)
    duty_reports_owed = DutyReportSerializer(many=True)


class LeaveRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class WorkReportSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)


class MyInvitationViewSet(viewsets.GenericViewSet):
    """Self-service: my upcoming meetings and reports owed; ask for leave; submit a work report."""

    serializer_class = InvitationSerializer
    pagination_class = None
    permission_map = {"list": AUTHENTICATED, "leave": AUTHENTICATED, "report": AUTHENTICATED}

    queryset = Invitation.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return Invitation.objects.filter(user=self.request.user)

    def _own(self, pk):
        invitation = selectors.my_invitation(self.request.user, pk)
        if invitation is None:
            from django.http import Http404

            raise Http404
        return invitation

    @extend_schema(responses=MyMeetingSerializer)
    def list(self, request):
        return Response(MyMeetingSerializer(selectors.meetings_for_user(request.user)).data)

    @action(detail=True, methods=["post"], serializer_class=LeaveRequestSerializer)
    def leave(self, request, pk=None):
        invitation = self._own(pk)
        data = validated(LeaveRequestSerializer, request)
        invitation = services.do_request_leave(actor=request.user, invitation=invitation, **data)
        return Response(InvitationSerializer(invitation).data)

    @action(detail=True, methods=["post"], serializer_class=WorkReportSerializer)
    def report(self, request, pk=None):
        invitation = self._own(pk)
        data = validated(WorkReportSerializer, request)
        invitation = services.do_submit_work_report(actor=request.user, invitation=invitation, **data)
        return Response(InvitationSerializer(invitation).data)


ROUTES = [
    ("governance/meetings", MeetingViewSet, "governance-meeting"),
    ("governance/invitations", InvitationViewSet, "governance-invitation"),
    ("governance/duty-reports", DutyReportViewSet, "governance-duty-report"),
    ("governance/mine", MyInvitationViewSet, "governance-mine"),
]
