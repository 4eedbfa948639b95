"""REST endpoints of the association's services; xinyuan/urls.py registers every entry of ROUTES.

Help-seekers appear masked; the full name and phone come only from ``identity`` (audited).
"""

import datetime as dt

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import User
from apps.audit.services import log_read
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import Perm
from apps.identity.masks import mask_mobile, mask_name
from apps.orgs.models import OrgUnit
from apps.workdays.serializers import ESTIMATE_FIELDS, EstimatedDeadlineMixin

from . import selectors, services
from .choices import (
    Availability,
    DispatchRole,
    EventKind,
    HelpChannel,
    HelpOutcome,
    HoursKind,
    Severity,
    Skill,
    Specialty,
    Urgency,
)
from .models import HelpRequest, HotlineShift, HoursRecord, Responder, StressEvent

VIEW = Perm.ASSISTANCE_VIEW


def _user(pk):
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise serializers.ValidationError({"detail": ["所选人员不存在。"]})
    return user


# --- help requests -------------------------------------------------------------------------------


class HelpRequestSerializer(EstimatedDeadlineMixin, serializers.ModelSerializer):
    deadline_field = "assign_due"
    seeker_name = serializers.SerializerMethodField()
    seeker_phone = serializers.SerializerMethodField()

    class Meta:
        model = HelpRequest
        fields = [
            "id", "unit", "channel", "received_at", "seeker_name", "seeker_phone", "specialty", "urgency", "status",
            "committee", "assignee", "assigned_at", "assign_due", *ESTIMATE_FIELDS, "accepted_at", "closed_at",
            "outcome", "version",
        ]  # fmt: skip
        read_only_fields = fields

    def get_seeker_name(self, obj) -> str:
        return mask_name(obj.seeker_name)

    def get_seeker_phone(self, obj) -> str:
        return mask_mobile(obj.seeker_phone) if obj.seeker_phone else ""


class HelpRequestDetailSerializer(HelpRequestSerializer):
    class Meta(HelpRequestSerializer.Meta):
        fields = [*HelpRequestSerializer.Meta.fields, "topic", "outcome_note"]
        read_only_fields = fields


class HelpIdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = HelpRequest
        fields = ["id", "seeker_name", "seeker_phone"]
        read_only_fields = fields


class HelpRequestWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=HelpChannel.choices)
    received_at = serializers.DateTimeField()
    seeker_name = serializers.CharField(max_length=50)
    seeker_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    topic = serializers.CharField(max_length=5000)
    specialty = serializers.ChoiceField(choices=Specialty.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)


class RouteSerializer(serializers.Serializer):
    committee = serializers.IntegerField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class CloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=HelpOutcome.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class HelpVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False)


class DeclineSerializer(HelpVersionSerializer):
    reason = serializers.CharField(max_length=500)


class HelpRequestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """H-SVC-1: help requests in the caller's scope; ``?status=open|overdue|<status>`` filters."""

    serializer_class = HelpRequestSerializer
    permission_map = {
        "list": VIEW, "retrieve": VIEW, "create": Perm.HELP_MANAGE, "route": Perm.HELP_MANAGE,
        "assign": Perm.HELP_MANAGE, "close": Perm.HELP_MANAGE, "identity": Perm.HELP_IDENTITY,
    }  # fmt: skip

    def get_queryset(self):
        if self.action == "list":
            return selectors.help_requests(self.request.user, self.request.query_params.get("status", ""))
        return selectors.visible_help(self.request.user, self.permission_map[self.action])

    def _get(self, pk):
        return access_by_id(self.get_queryset(), pk, self.request.user, self.permission_map[self.action])

    def retrieve(self, request, pk=None):
        row = self._get(pk)
        log_read(request.user, row, purpose="接口查看个案求助", request=request)
        return Response(HelpRequestDetailSerializer(row).data)

    @extend_schema(request=HelpRequestWriteSerializer, responses=HelpRequestDetailSerializer)
    def create(self, request):
        data = validated(HelpRequestWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, Perm.HELP_MANAGE)
        row = services.do_register_help_request(actor=request.user, unit=unit, **data)
        return Response(HelpRequestDetailSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=HelpIdentitySerializer)
    @action(detail=True, methods=["get"])
    def identity(self, request, pk=None):
        """The help-seeker's full name and phone; every call is in the audit log."""
        row = self._get(pk)
        log_read(request.user, row, purpose="接口查看求助者完整姓名与电话", request=request)
        return Response(HelpIdentitySerializer(row).data)

    @extend_schema(request=RouteSerializer, responses=HelpRequestSerializer)
    @action(detail=True, methods=["post"])
    def route(self, request, pk=None):
        row = self._get(pk)
        data = validated(RouteSerializer, request)
        committee = access_by_id(OrgUnit.objects.all(), data["committee"], request.user, Perm.HELP_MANAGE)
        row = services.do_route_help_request(
            actor=request.user, request=row, committee=committee, reason=data.get("reason", ""),
            version=data.get("version"),
        )  # fmt: skip
        return Response(HelpRequestSerializer(row).data)

    @extend_schema(request=AssignSerializer, responses=HelpRequestSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        row = self._get(pk)
        data = validated(AssignSerializer, request)
        row = services.do_assign_help_request(
            actor=request.user, request=row, assignee=_user(data["assignee"]), reason=data.get("reason", ""),
            version=data.get("version"),
        )  # fmt: skip
        return Response(HelpRequestSerializer(row).data)

    @extend_schema(request=CloseSerializer, responses=HelpRequestSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        row = self._get(pk)
        data = validated(CloseSerializer, request)
        row = services.do_close_help_request(actor=request.user, request=row, **data)
        return Response(HelpRequestSerializer(row).data)


class MyHelpRequestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """H-SVC-1: the help requests assigned to the caller, who accepts, declines or closes them."""

    serializer_class = HelpRequestSerializer
    permission_map = {
        "list": Perm.ASSISTANCE_SELF, "retrieve": Perm.ASSISTANCE_SELF, "accept": Perm.ASSISTANCE_SELF,
        "decline": Perm.ASSISTANCE_SELF, "close": Perm.ASSISTANCE_SELF,
    }  # fmt: skip

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, only the model
            return HelpRequest.objects.none()
        return selectors.my_help(self.request.user)

    def _get(self, pk):
        try:
            row = self.get_queryset().filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            row = None
        if row is None:
            raise Http404
        return row

    def retrieve(self, request, pk=None):
        row = self._get(pk)
        log_read(request.user, row, purpose="接口：被分派心理师查看求助", request=request)
        return Response(HelpRequestDetailSerializer(row).data)

    @extend_schema(request=HelpVersionSerializer, responses=HelpRequestSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        row = self._get(pk)
        data = validated(HelpVersionSerializer, request)
        row = services.do_accept_help_request(actor=request.user, request=row, version=data.get("version"))
        return Response(HelpRequestSerializer(row).data)

    @extend_schema(request=DeclineSerializer, responses=HelpRequestSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        row = self._get(pk)
        data = validated(DeclineSerializer, request)
        row = services.do_decline_help_request(actor=request.user, request=row, **data)
        return Response(HelpRequestSerializer(row).data)

    @extend_schema(request=CloseSerializer, responses=HelpRequestSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        row = self._get(pk)
        data = validated(CloseSerializer, request)
        row = services.do_close_help_request(actor=request.user, request=row, **data)
        return Response(HelpRequestSerializer(row).data)


# --- hours ---------------------------------------------------------------------------------------


class HoursSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.full_name", read_only=True)

    class Meta:
        model = HoursRecord
        fields = [
            "id", "member", "member_name", "unit", "kind", "activity", "date", "hours", "status", "self_reported",
            "note", "dispatch", "confirmed_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class HoursWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=HoursKind.choices)
    activity = serializers.CharField(max_length=100)
    date = serializers.DateField()
    hours = serializers.DecimalField(max_digits=5, decimal_places=1)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MemberHoursWriteSerializer(HoursWriteSerializer):
    member = serializers.IntegerField()


class ConfirmSerializer(HelpVersionSerializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class HoursTotalsSerializer(serializers.Serializer):
    continuing_education = serializers.DecimalField(max_digits=9, decimal_places=1)
    supervision = serializers.DecimalField(max_digits=9, decimal_places=1)
    volunteer = serializers.DecimalField(max_digits=9, decimal_places=1)
    education_total = serializers.DecimalField(max_digits=9, decimal_places=1)


class HoursSummarySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    this_year = HoursTotalsSerializer()
    all_time = HoursTotalsSerializer()
    pending = serializers.IntegerField()


class HoursViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """H-SVC-2, H-SVC-4: hours records in scope; ``?kind=``, ``?status=``, ``?year=`` filter."""

    serializer_class = HoursSerializer
    permission_map = {"list": VIEW, "create": Perm.HOURS_MANAGE, "confirm": Perm.HOURS_MANAGE}

    def get_queryset(self):
        params = self.request.query_params
        year = params.get("year", "")
        return selectors.hours_records(
            self.request.user, kind=params.get("kind", ""), status=params.get("status", ""),
            year=int(year) if year.isdigit() else None,
        )  # fmt: skip

    @extend_schema(request=MemberHoursWriteSerializer, responses=HoursSerializer)
    def create(self, request):
        data = validated(MemberHoursWriteSerializer, request)
        row = services.do_record_hours(actor=request.user, member=_user(data.pop("member")), **data)
        return Response(HoursSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConfirmSerializer, responses=HoursSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        record = access_by_id(HoursRecord.objects.all(), pk, request.user, Perm.HOURS_MANAGE)
        data = validated(ConfirmSerializer, request)
        row = services.do_confirm_hours(actor=request.user, record=record, **data)
        return Response(HoursSerializer(row).data)


class MyHoursViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own hours: list, self-report (pending until confirmed) and this year's totals."""

    serializer_class = HoursSerializer
    permission_map = {"list": Perm.ASSISTANCE_SELF, "create": Perm.ASSISTANCE_SELF, "summary": Perm.ASSISTANCE_SELF}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, only the model
            return HoursRecord.objects.none()
        return HoursRecord.objects.filter(member=self.request.user).select_related("member")

    @extend_schema(request=HoursWriteSerializer, responses=HoursSerializer)
    def create(self, request):
        data = validated(HoursWriteSerializer, request)
        row = services.do_report_hours(actor=request.user, **data)
        return Response(HoursSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=HoursSummarySerializer)
    @action(detail=False, methods=["get"])
    def summary(self, request):
        return Response(HoursSummarySerializer(selectors.hours_for_user(request.user)).data)


# --- rapid crisis response -----------------------------------------------------------------------


class ResponderSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="user.full_name", read_only=True)
    skills = serializers.SerializerMethodField()

    class Meta:
        model = Responder
        fields = [
            "id", "user", "name", "unit", "trained_on", "status", "skills", "available_weekdays", "available_from",
            "available_to", "contact", "version",
        ]  # fmt: skip
        read_only_fields = fields

    def get_skills(self, obj) -> list[str]:
        return sorted(s.skill for s in obj.skills.all())


class ResponderWriteSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    unit = serializers.IntegerField()
    trained_on = serializers.DateField()
    skills = serializers.ListField(child=serializers.ChoiceField(choices=Skill.choices))
    status = serializers.ChoiceField(choices=Availability.choices, required=False)
    available_weekdays = serializers.CharField(max_length=7, required=False)
    available_from = serializers.TimeField()
    available_to = serializers.TimeField()
    contact = serializers.CharField(max_length=20)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ResponderViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ResponderSerializer
    permission_map = {"list": VIEW, "create": Perm.CRISIS_MANAGE}

    def get_queryset(self):
        return selectors.visible_responders(self.request.user)

    @extend_schema(request=ResponderWriteSerializer, responses=ResponderSerializer)
    def create(self, request):
        data = validated(ResponderWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, Perm.CRISIS_MANAGE)
        row = services.do_register_responder(actor=request.user, user=_user(data.pop("user")), unit=unit, **data)
        return Response(ResponderSerializer(row).data, status=status.HTTP_201_CREATED)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = StressEvent
        fields = [
            "id", "unit", "title", "kind", "place", "occurred_at", "scale", "severity", "description", "status",
            "version",
        ]  # fmt: skip
        read_only_fields = fields


class EventWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    title = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=EventKind.choices)
    place = serializers.CharField(max_length=200)
    occurred_at = serializers.DateTimeField()
    scale = serializers.IntegerField(min_value=1)
    severity = serializers.ChoiceField(choices=Severity.choices)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class WindowSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    committee = serializers.IntegerField(required=False)
    skill = serializers.ChoiceField(choices=Skill.choices, required=False)


class DispatchWriteSerializer(serializers.Serializer):
    responders = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    role = serializers.ChoiceField(choices=DispatchRole.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text="越时段调派原因")
    skill = serializers.ChoiceField(choices=Skill.choices, required=False)
    urgent = serializers.BooleanField(required=False, default=True, help_text="同时发短信到名册联系电话")


class DispatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    responder = serializers.IntegerField(source="responder_id")
    role = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.CharField()
    reason = serializers.CharField()
    urgent = serializers.BooleanField()


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """H-SVC-3: stress events; ``candidates`` is the mobilisation query, ``mobilise`` dispatches responders."""

    serializer_class = EventSerializer
    permission_map = {
        "list": VIEW, "retrieve": VIEW, "create": Perm.CRISIS_MANAGE, "candidates": Perm.CRISIS_MANAGE,
        "mobilise": Perm.CRISIS_MANAGE,
    }  # fmt: skip

    def get_queryset(self):
        return selectors.visible_events(self.request.user, self.permission_map[self.action])

    @extend_schema(request=EventWriteSerializer, responses=EventSerializer)
    def create(self, request):
        data = validated(EventWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, Perm.CRISIS_MANAGE)
        row = services.do_register_event(actor=request.user, unit=unit, **data)
        return Response(EventSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("starts_at", str, required=True), OpenApiParameter("ends_at", str, required=True),
            OpenApiParameter("committee", int), OpenApiParameter("skill", str, enum=Skill.values),
        ],
        responses=ResponderSerializer(many=True),
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def candidates(self, request, pk=None):
        """Responders available for the window: filtered by committee and skill, busy ones left out."""
        event = access_by_id(self.get_queryset(), pk, request.user, Perm.CRISIS_MANAGE)
        window = WindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        data = window.validated_data
        committee = None
        if data.get("committee"):
            committee = access_by_id(OrgUnit.objects.all(), data["committee"], request.user, Perm.CRISIS_MANAGE)
        rows = selectors.mobilisation_candidates(
            request.user, event, data["starts_at"], data["ends_at"], committee=committee, skill=data.get("skill", "")
        )
        return Response(ResponderSerializer(rows[:200], many=True).data)

    @extend_schema(request=DispatchWriteSerializer, responses=DispatchSerializer(many=True))
    @action(detail=True, methods=["post"])
    def mobilise(self, request, pk=None):
        """Dispatch responders to the event for a window (refused for anyone busy or unavailable then)."""
        event = access_by_id(self.get_queryset(), pk, request.user, Perm.CRISIS_MANAGE)
        data = validated(DispatchWriteSerializer, request)
        responders = list(
            selectors.visible_responders(request.user, Perm.CRISIS_MANAGE).filter(pk__in=data.pop("responders"))
        )
        rows = services.do_dispatch(actor=request.user, event=event, responders=responders, **data)
        return Response(DispatchSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class ShiftSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="responder.user.full_name", read_only=True)

    class Meta:
        model = HotlineShift
        fields = ["id", "unit", "responder", "name", "starts_at", "ends_at", "note"]
        read_only_fields = fields


class ShiftWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    responder = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ShiftViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """H-SVC-3: the hotline rota; ``?week=YYYY-MM-DD`` gives the week of that day."""

    serializer_class = ShiftSerializer
    permission_map = {"list": VIEW, "create": Perm.CRISIS_MANAGE}

    def get_queryset(self):
        from apps.core.access import scope

        rows = scope(HotlineShift.objects.select_related("responder__user"), self.request.user, VIEW)
        week = self.request.query_params.get("week", "")
        try:
            monday = selectors.week_start(dt.date.fromisoformat(week))
        except ValueError:
            return rows
        start = dt.datetime.combine(monday, dt.time.min, tzinfo=services.SHANGHAI)
        return rows.filter(starts_at__lt=start + dt.timedelta(days=7), ends_at__gt=start)

    @extend_schema(request=ShiftWriteSerializer, responses=ShiftSerializer)
    def create(self, request):
        data = validated(ShiftWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, Perm.CRISIS_MANAGE)
        responder = access_by_id(Responder.objects.all(), data.pop("responder"), request.user, Perm.CRISIS_MANAGE)
        row = services.do_add_shift(actor=request.user, unit=unit, responder=responder, **data)
        return Response(ShiftSerializer(row).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("assistance/help-requests", HelpRequestViewSet, "assistance-help"),
    ("assistance/my-help-requests", MyHelpRequestViewSet, "assistance-my-help"),
    ("assistance/hours", HoursViewSet, "assistance-hours"),
    ("assistance/my-hours", MyHoursViewSet, "assistance-my-hours"),
    ("assistance/responders", ResponderViewSet, "assistance-responder"),
    ("assistance/events", EventViewSet, "assistance-event"),
    ("assistance/shifts", ShiftViewSet, "assistance-shift"),
]
