"""REST endpoints of the three-colour warning; xinyuan/urls.py registers every (prefix, viewset, basename) in ROUTES.

Lists leave out the encrypted reason; opening one file shows it and is audited. Every act is one
``POST /api/alerts/warnings/<id>/<act>/`` calling one service; errors come back in Chinese.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import User
from apps.audit.services import log_read
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import Perm
from apps.identity.masks import mask_name
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import WARNING_COLOURS, ContactKind, ControlMeasure
from .models import Warning, WarningEvent

COLOURS = [(int(c), c.label) for c in WARNING_COLOURS]


class WarningSerializer(serializers.ModelSerializer):
    client_name = serializers.SerializerMethodField()

    class Meta:
        model = Warning
        fields = [
            "id", "client", "client_name", "unit", "centre", "state", "colour", "proposed_colour", "tagged_at",
            "colour_set_at", "basis_scale", "basis_score", "counsellor", "feedback_due", "feedback_sent_at",
            "cycle_days", "cycle_number", "cycle_started", "cycle_due", "cycles_in_review", "proposal",
            "proposal_colour", "control_measures", "control_institution", "closed_at", "version",
        ]  # fmt: skip
        read_only_fields = fields

    def get_client_name(self, obj) -> str:
        return mask_name(obj.client.name)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = WarningEvent
        fields = ["id", "kind", "actor", "at", "from_state", "to_state", "from_colour", "to_colour", "reason", "scores"]
        read_only_fields = fields


class WarningDetailSerializer(WarningSerializer):
    reason = serializers.CharField(read_only=True)
    events = serializers.SerializerMethodField()

    class Meta(WarningSerializer.Meta):
        fields = [*WarningSerializer.Meta.fields, "reason", "events"]
        read_only_fields = fields

    def get_events(self, obj) -> list[dict]:
        return EventSerializer(selectors.warning_detail(obj)["events"], many=True).data


class TagSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    proposed_colour = serializers.ChoiceField(choices=COLOURS)
    reason = serializers.CharField(max_length=2000)


class Versioned(serializers.Serializer):
    version = serializers.IntegerField(required=False, allow_null=True)


class SetColourSerializer(Versioned):
    result = serializers.IntegerField()
    counsellor = serializers.IntegerField()
    colour = serializers.ChoiceField(choices=COLOURS, required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class FeedbackSerializer(Versioned):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ContactSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ContactKind.choices)
    happened_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=2000)


class ChangeColourSerializer(Versioned):
    colour = serializers.ChoiceField(choices=COLOURS)
    reason = serializers.CharField(max_length=2000)
    result = serializers.IntegerField(required=False, allow_null=True)


class ReasonSerializer(Versioned):
    reason = serializers.CharField(max_length=2000)


class ControlSerializer(Versioned):
    measures = serializers.ListField(child=serializers.ChoiceField(choices=ControlMeasure.choices))
    reason = serializers.CharField(max_length=2000)
    institution = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ResponderSerializer(Versioned):
    counsellor = serializers.IntegerField()
    reason = serializers.CharField(max_length=2000)


def _result(request, pk):
    if pk is None:
        return None
    from apps.assessments.models import AssessmentResult

    return access_by_id(AssessmentResult.objects.all(), pk, request.user, Perm.ASSESSMENT_VIEW)


def _user(pk):
    return User.objects.filter(pk=pk).first()


LIST_FILTERS = [
    OpenApiParameter("unit", int, description="只看该单位及下级单位"),
    OpenApiParameter("colour", int, description="颜色：1 黄、2 橙、3 红、0 待定色"),
    OpenApiParameter("flag", str, enum=list(selectors.FLAGS), description="new/overdue_feedback/overdue_cycle/…"),
    OpenApiParameter("mine", bool, description="只看我负责的"),
    OpenApiParameter("closed", bool, description="已结案的"),
]


class WarningViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Key-person warning files in the caller's scope (S-WARN-1…6)."""

    serializer_class = WarningSerializer
    permission_map = {
        "list": Perm.ALERT_VIEW,
        "retrieve": Perm.ALERT_VIEW,
        "create": Perm.ALERT_TAG,
        "set_colour": Perm.ALERT_MANAGE,
        "feedback": Perm.ALERT_MANAGE,
        "contact": Perm.ALERT_FOLLOW_UP,
        "complete_cycle": Perm.ALERT_FOLLOW_UP,
        "change_colour": Perm.ALERT_MANAGE,
        "continue_tracking": Perm.ALERT_MANAGE,
        "enter_control": Perm.ALERT_MANAGE,
        "assign_responder": Perm.ALERT_MANAGE,
        "close": Perm.ALERT_MANAGE,
    }

    def get_queryset(self):
        params = self.request.query_params
        if self.action == "list":
            unit = None
            if params.get("unit"):
                unit = access_by_id(OrgUnit.objects.all(), params["unit"], self.request.user, Perm.ALERT_VIEW)
            return selectors.warnings_list(
                self.request.user, unit, colour=params.get("colour"), flag=params.get("flag", ""),
                mine=params.get("mine") in ("1", "true"), closed=params.get("closed") in ("1", "true"),
            )  # fmt: skip
        return selectors.visible_warnings(self.request.user, self.permission_map.get(self.action, Perm.ALERT_VIEW))

    def _warning(self, pk):
        return access_by_id(self.get_queryset().select_related("client", "counsellor"), pk, self.request.user,
                            self.permission_map[self.action])  # fmt: skip

    @extend_schema(parameters=LIST_FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=WarningDetailSerializer)
    def retrieve(self, request, pk=None):
        warning = self._warning(pk)
        log_read(request.user, warning, purpose="接口查看重点人员预警档案", request=request)
        return Response(WarningDetailSerializer(warning).data)

    def _done(self, warning, code=status.HTTP_200_OK):
        return Response(WarningDetailSerializer(warning).data, status=code)

    @extend_schema(request=TagSerializer, responses={201: WarningDetailSerializer})
    def create(self, request):
        """S-WARN-2: tag a client as a key person and report to the district centre."""
        from apps.clients.models import Client

        data = validated(TagSerializer, request)
        client = access_by_id(Client.objects.select_related("unit"), data["client"], request.user, Perm.ALERT_TAG)
        warning = services.do_tag_key_person(
            actor=request.user, client=client, proposed_colour=data["proposed_colour"], reason=data["reason"]
        )
        return self._done(warning, status.HTTP_201_CREATED)

    @extend_schema(request=SetColourSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"], url_path="set-colour")
    def set_colour(self, request, pk=None):
        """S-WARN-3: set the colour from an assessment result, open the file, assign the counsellor."""
        warning = self._warning(pk)
        data = validated(SetColourSerializer, request)
        warning = services.do_set_colour(
            actor=request.user, warning=warning, result=_result(request, data["result"]),
            counsellor=_user(data["counsellor"]), colour=data.get("colour"), reason=data.get("reason", ""),
            version=data.get("version"),
        )  # fmt: skip
        return self._done(warning)

    @extend_schema(request=FeedbackSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        """S-WARN-3: feed back to street, community and counsellor."""
        warning = self._warning(pk)
        data = validated(FeedbackSerializer, request)
        return self._done(
            services.do_send_feedback(
                actor=request.user, warning=warning, note=data.get("note", ""), version=data.get("version")
            )
        )

    @extend_schema(request=ContactSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        """S-WARN-4: record a follow-up contact (phone, interview, online)."""
        warning = self._warning(pk)
        data = validated(ContactSerializer, request)
        services.do_record_contact(actor=request.user, warning=warning, **data)
        return self._done(warning, status.HTTP_201_CREATED)

    @extend_schema(request=Versioned, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"], url_path="complete-cycle")
    def complete_cycle(self, request, pk=None):
        """S-WARN-4/5: complete the current cycle; after the review cycles the system proposes."""
        warning = self._warning(pk)
        data = validated(Versioned, request)
        return self._done(services.do_complete_cycle(actor=request.user, warning=warning, version=data.get("version")))

    @extend_schema(request=ChangeColourSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"], url_path="change-colour")
    def change_colour(self, request, pk=None):
        """S-WARN-5: adjust the colour with a reason (lowering a red needs the district permission)."""
        warning = self._warning(pk)
        data = validated(ChangeColourSerializer, request)
        return self._done(
            services.do_change_colour(
                actor=request.user,
                warning=warning,
                colour=data["colour"],
                reason=data["reason"],
                result=_result(request, data.get("result")),
                version=data.get("version"),
            )  # fmt: skip
        )

    @extend_schema(request=ReasonSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"], url_path="continue")
    def continue_tracking(self, request, pk=None):
        warning = self._warning(pk)
        data = validated(ReasonSerializer, request)
        return self._done(services.do_continue_tracking(actor=request.user, warning=warning, **data))

    @extend_schema(request=ControlSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"], url_path="control")
    def enter_control(self, request, pk=None):
        """S-WARN-5: enter the control flow, recording the measures."""
        warning = self._warning(pk)
        data = validated(ControlSerializer, request)
        return self._done(services.do_enter_control(actor=request.user, warning=warning, **data))

    @extend_schema(request=ResponderSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"], url_path="responder")
    def assign_responder(self, request, pk=None):
        warning = self._warning(pk)
        data = validated(ResponderSerializer, request)
        return self._done(
            services.do_assign_responder(
                actor=request.user,
                warning=warning,
                counsellor=_user(data["counsellor"]),
                reason=data["reason"],
                version=data.get("version"),
            )  # fmt: skip
        )

    @extend_schema(request=ReasonSerializer, responses=WarningDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        warning = self._warning(pk)
        data = validated(ReasonSerializer, request)
        return self._done(services.do_close(actor=request.user, warning=warning, **data))


class DashboardRowSerializer(serializers.Serializer):
    unit = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    cells = serializers.DictField(child=serializers.CharField())


class DashboardSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    day = serializers.DateField()
    identified = serializers.BooleanField()
    totals = serializers.DictField(child=serializers.CharField())
    rows = DashboardRowSerializer(many=True)


class DashboardViewSet(viewsets.ViewSet):
    """S-WARN counts of a unit's subtree (``?unit=``): by colour and child unit, overdue, control flow.

    Cells of 1–4 people at street or community level read "<5" for callers without ``alert.view``.
    """

    permission_map = {"list": Perm.ALERT_STATS}

    @extend_schema(parameters=[OpenApiParameter("unit", int)], responses=DashboardSerializer)
    def list(self, request):
        unit = selectors.dashboard_unit(request.user, request.query_params.get("unit"))
        board = selectors.dashboard(request.user, unit)
        return Response(
            {
                "unit": unit.pk,
                "day": board.day,
                "identified": board.identified,
                "totals": board.totals,
                "rows": [
                    {"unit": r.unit.pk if r.unit else None, "label": r.label, "cells": r.cells} for r in board.rows
                ],
            }
        )


ROUTES: list = [
    ("alerts/warnings", WarningViewSet, "alert-warning"),
    ("alerts/dashboard", DashboardViewSet, "alert-dashboard"),
]
