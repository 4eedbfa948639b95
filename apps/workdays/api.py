"""REST API of the working-day calendar: the overrides, and a deadline any staff member may compute."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api import validated
from apps.core.perms import AUTHENTICATED, Perm

from . import selectors, services
from .choices import DayKind, DeadlineKind
from .models import CalendarOverride


class CalendarOverrideSerializer(serializers.ModelSerializer):
    created_by_name = serializers.CharField(source="created_by.full_name", read_only=True, default="")

    class Meta:
        model = CalendarOverride
        fields = ["id", "date", "is_workday", "name", "note", "created_by", "created_by_name", "created_at"]
        read_only_fields = fields


class CalendarOverrideWriteSerializer(serializers.Serializer):
    date = serializers.DateField()
    is_workday = serializers.BooleanField()
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    note = serializers.CharField(allow_blank=True, required=False, default="")


class NoticeSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="每行“日期,休或班,名称[,备注]”")


class NoticeResultSerializer(serializers.Serializer):
    created = CalendarOverrideSerializer(many=True)
    unchanged = serializers.ListField(child=serializers.DateField(), help_text="与已有记录相同、未重复录入的日期")
    recomputed = serializers.IntegerField(help_text="按新的节假日安排重新计算（改期或取消“预估”）的未办结期限条数")


class DeadlineQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text="起算日（收到之日，不计入期限），YYYY-MM-DD")
    days = serializers.IntegerField(help_text="天数，0–3660")
    kind = serializers.ChoiceField(choices=DeadlineKind.choices, default=DeadlineKind.WORKING)


class SkippedDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=DayKind.choices)


class DeadlineSerializer(serializers.Serializer):
    start = serializers.DateField()
    days = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DeadlineKind.choices)
    deadline = serializers.DateField(source="due")
    skipped = SkippedDaySerializer(many=True, help_text="期间内未计入的休息日与节假日")
    assumed_years = serializers.ListField(
        child=serializers.IntegerField(), help_text="尚未录入节假日、按周一至周五推算的年份"
    )
    warning = serializers.CharField()


class CalendarOverrideFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(field_name="date", lookup_expr="year", min_value=1900, max_value=2100)

    class Meta:
        model = CalendarOverride
        fields = ["year", "is_workday", "date"]


class CalendarOverrideViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Days an administrator set as off or as adjusted working days; they win over the package."""

    serializer_class = CalendarOverrideSerializer
    filterset_class = CalendarOverrideFilter
    permission_map = {
        "list": Perm.CALENDAR_MANAGE,
        "retrieve": Perm.CALENDAR_MANAGE,
        "create": Perm.CALENDAR_MANAGE,
        "partial_update": Perm.CALENDAR_MANAGE,
        "destroy": Perm.CALENDAR_MANAGE,
        "import_notice": Perm.CALENDAR_MANAGE,
    }

    def get_queryset(self):
        return selectors.override_rows()

    def _override(self, pk) -> CalendarOverride:
        return selectors.access_override_by_id(self.request.user, pk)

    @extend_schema(request=CalendarOverrideWriteSerializer, responses={201: CalendarOverrideSerializer})
    def create(self, request):
        data = validated(CalendarOverrideWriteSerializer, request)
        override = services.do_create_override(actor=request.user, **data)
        return Response(CalendarOverrideSerializer(override).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CalendarOverrideWriteSerializer(partial=True), responses=CalendarOverrideSerializer)
    def partial_update(self, request, pk=None):
        """Change some fields of an override; the fields left out keep their values."""
        override = self._override(pk)
        patch = CalendarOverrideWriteSerializer(data=request.data, partial=True)
        patch.is_valid(raise_exception=True)
        current = {f: getattr(override, f) for f in ("date", "is_workday", "name", "note")}
        override = services.do_update_override(
            actor=request.user, override=override, **(current | dict(patch.validated_data))
        )
        return Response(CalendarOverrideSerializer(override).data)

    def destroy(self, request, pk=None):
        services.do_delete_override(actor=request.user, override=self._override(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=NoticeSerializer, responses={201: NoticeResultSerializer})
    @action(detail=False, methods=["post"], url_path="import", serializer_class=NoticeSerializer)
    def import_notice(self, request):
        """Enter a year's holiday notice: every line valid, or nothing is written (400 lists each bad line)."""
        data = validated(NoticeSerializer, request)
        result = services.do_import_holiday_notice(actor=request.user, text=data["text"])
        body = {
            "created": result.created,
            "unchanged": [line.date for line in result.unchanged],
            "recomputed": result.recomputed,
        }
        return Response(NoticeResultSerializer(body).data, status=status.HTTP_201_CREATED)


class WorkdayViewSet(viewsets.ViewSet):
    """Deadlines on the Chinese statutory calendar, for any logged-in user."""

    permission_map = {"deadline": AUTHENTICATED}

    @extend_schema(parameters=[DeadlineQuerySerializer], responses=DeadlineSerializer)
    @action(detail=False, methods=["get"])
    def deadline(self, request):
        """The date N working (or calendar) days after ``start``; the start day itself never counts."""
        query = DeadlineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deadline = services.compute_deadline(**query.validated_data)
        return Response(DeadlineSerializer(deadline).data)
