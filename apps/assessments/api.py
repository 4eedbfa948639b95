"""REST endpoints; xinyuan/urls.py registers every (prefix, viewset, basename) in ROUTES."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from apps.audit.services import log_read
from apps.clients.models import Client
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import Perm

from . import selectors, services
from .models import AssessmentLink, AssessmentResult, Scale


class ScaleSerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField()
    definition = serializers.SerializerMethodField()

    class Meta:
        model = Scale
        fields = ["id", "code", "name", "tenant", "version", "definition"]
        read_only_fields = fields

    def _current(self, obj):
        cache = self.context.setdefault("versions", {})
        if obj.pk not in cache:
            cache[obj.pk] = selectors.current_version(obj)
        return cache[obj.pk]

    def get_version(self, obj) -> int:
        return self._current(obj).number

    def get_definition(self, obj) -> dict:
        """The current version's definition (format in docs/assessments.md)."""
        return self._current(obj).definition


class ResultSerializer(serializers.ModelSerializer):
    scale = serializers.CharField(source="scale_version.scale.code", read_only=True)
    scale_version = serializers.IntegerField(source="scale_version.number", read_only=True)

    class Meta:
        model = AssessmentResult
        fields = [
            "id", "client", "unit", "scale", "scale_version", "answers", "raw_score", "score", "factor_scores",
            "band_code", "band_label", "band_level", "cutoff_source", "critical", "critical_items",
            "administered_at", "administered_by", "mode", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ResultWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField(help_text="来访者编号")
    scale = serializers.CharField(max_length=30, help_text="量表编码，如 PHQ-9")
    answers = serializers.JSONField(help_text="{题号: 所选选项分值}，或按题目顺序的分值列表")
    administered_at = serializers.DateTimeField(required=False, help_text="测评时间，默认为现在")


class LinkWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField(help_text="来访者编号")
    scale = serializers.CharField(max_length=30, help_text="量表编码，如 PHQ-9")
    days = serializers.IntegerField(default=services.LINK_DAYS_DEFAULT, min_value=1, max_value=services.LINK_DAYS_MAX)


class LinkSerializer(serializers.ModelSerializer):
    scale = serializers.CharField(source="scale_version.scale.code", read_only=True)
    url = serializers.CharField(read_only=True, help_text="一次性链接，仅在创建时返回")

    class Meta:
        model = AssessmentLink
        fields = ["id", "client", "scale", "expires_at", "created_at", "url"]
        read_only_fields = fields


class ScaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scales the caller's tenant uses (shipped free instruments and its own imports), with the current definition."""

    serializer_class = ScaleSerializer
    permission_map = {"list": Perm.ASSESSMENT_VIEW, "retrieve": Perm.ASSESSMENT_VIEW}

    def get_queryset(self):
        return selectors.visible_scales(self.request.user)

    def retrieve(self, request, pk=None):
        return Response(ScaleSerializer(selectors.access_scale_by_id(pk, request.user)).data)


class ResultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Assessment results in the caller's scope (``?client=`` and ``?scale=`` filter); create = paper entry."""

    serializer_class = ResultSerializer
    permission_map = {
        "list": Perm.ASSESSMENT_VIEW,
        "retrieve": Perm.ASSESSMENT_VIEW,
        "create": Perm.ASSESSMENT_ADMINISTER,
    }

    def get_queryset(self):
        rows = selectors.visible_results(self.request.user)
        client = self.request.query_params.get("client", "")
        scale = self.request.query_params.get("scale", "")
        if client.isdigit():
            rows = rows.filter(client_id=int(client))
        if scale:
            rows = rows.filter(scale_version__scale__code=scale)
        return rows

    def retrieve(self, request, pk=None):
        result = access_by_id(
            AssessmentResult.objects.select_related("scale_version__scale"), pk, request.user, Perm.ASSESSMENT_VIEW
        )
        log_read(request.user, result, purpose="接口查看测评作答", request=request)
        return Response(ResultSerializer(result).data)

    @extend_schema(request=ResultWriteSerializer, responses={201: ResultSerializer})
    def create(self, request):
        data = validated(ResultWriteSerializer, request)
        client = access_by_id(
            Client.objects.select_related("unit"), data["client"], request.user, Perm.ASSESSMENT_ADMINISTER
        )
        result = services.do_record_result(
            actor=request.user,
            client=client,
            scale_code=data["scale"],
            answers=data["answers"],
            administered_at=data.get("administered_at"),
        )
        return Response(ResultSerializer(result).data, status=status.HTTP_201_CREATED)


class LinkViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Create a one-time self-report link; the URL (with its token) is returned only in this response."""

    serializer_class = LinkSerializer
    permission_map = {"create": Perm.ASSESSMENT_ADMINISTER}

    def get_queryset(self):
        return AssessmentLink.objects.none()

    @extend_schema(request=LinkWriteSerializer, responses={201: LinkSerializer})
    def create(self, request):
        data = validated(LinkWriteSerializer, request)
        client = access_by_id(
            Client.objects.select_related("unit"), data["client"], request.user, Perm.ASSESSMENT_ADMINISTER
        )
        link, token = services.do_create_link(
            actor=request.user, client=client, scale_code=data["scale"], days=data["days"]
        )
        link.url = request.build_absolute_uri(reverse("assessments:take", args=[token]))
        return Response(LinkSerializer(link).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("assessments/scales", ScaleViewSet, "assessment-scale"),
    ("assessments/results", ResultViewSet, "assessment-result"),
    ("assessments/links", LinkViewSet, "assessment-link"),
]
