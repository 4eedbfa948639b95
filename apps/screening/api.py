from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.response import Response

from apps.clients.models import ServiceTargetCategory
from apps.clients.selectors import access_client_by_id
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import RiskLevel, ScreeningSource
from .models import ImportBatch, ScreeningRecord


class ScreeningRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningRecord
        fields = ["id", "unit", "client", "screened_on", "screened_by", "source", "risk_level", "finding",
                  "import_batch", "created_at"]  # fmt: skip
        read_only_fields = fields


class ScreeningWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    client = serializers.IntegerField(required=False, help_text="已登记来访者的编号；不填则按下列信息登记新来访者")
    name = serializers.CharField(max_length=50, required=False)
    id_number = serializers.CharField(max_length=24, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    categories = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=ServiceTargetCategory.objects.all(), required=False
    )
    confirm_new = serializers.BooleanField(required=False, default=False)
    screened_on = serializers.DateField()
    source = serializers.ChoiceField(choices=ScreeningSource.choices, default=ScreeningSource.ROUTINE)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices, default=RiskLevel.LOW)
    finding = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs.get("client") and not attrs.get("name"):
            raise serializers.ValidationError("请填写已登记来访者的编号，或新来访者的姓名。")
        return attrs


class ScreeningRecordViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Screening records (日常排查) in the caller's scope; create links or registers the person."""

    serializer_class = ScreeningRecordSerializer
    permission_map = {"list": Perm.SCREENING_MANAGE, "create": Perm.SCREENING_MANAGE}

    def get_queryset(self):
        return selectors.visible_records(self.request.user)

    def create(self, request):
        data = validated(ScreeningWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data["unit"], request.user, Perm.SCREENING_MANAGE)
        screening = {key: data.get(key) for key in ("screened_on", "source", "risk_level", "finding")}
        if data.get("client"):
            client, _ = access_client_by_id(request.user, data["client"], Perm.CLIENT_MANAGE)
            record = services.do_record_screening(actor=request.user, unit=unit, screening=screening, client=client)
        else:
            person = {key: data.get(key) for key in ("name", "id_number", "birth_date", "phone", "address")}
            record = services.do_record_screening(
                actor=request.user, unit=unit, screening=screening, person={k: v for k, v in person.items() if v},
                categories=data.get("categories", []), confirm_new=data["confirm_new"],
            )  # fmt: skip
        return Response(ScreeningRecordSerializer(record).data, status=status.HTTP_201_CREATED)


class ImportBatchSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportBatch
        fields = ["id", "unit", "uploaded_by", "file_name", "status", "total_rows", "processed_rows", "percent",
                  "created_clients", "linked_clients", "created_records", "skipped_rows", "error_count",
                  "error_report", "message", "created_at", "finished_at"]  # fmt: skip
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    file = serializers.FileField()


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Screening spreadsheet imports: upload (multipart ``unit`` + ``file``), then poll the status."""

    serializer_class = ImportBatchSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    permission_map = {
        "list": Perm.SCREENING_MANAGE,
        "retrieve": Perm.SCREENING_MANAGE,
        "create": Perm.SCREENING_MANAGE,
    }

    def get_queryset(self):
        return selectors.visible_batches(self.request.user)

    def retrieve(self, request, pk=None):
        batch = access_by_id(ImportBatch.objects.all(), pk, request.user, Perm.SCREENING_MANAGE)
        return Response(ImportBatchSerializer(services.expire_if_stale(batch)).data)

    def create(self, request):
        data = validated(UploadSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data["unit"], request.user, Perm.SCREENING_MANAGE)
        batch = services.do_upload_import(actor=request.user, unit=unit, upload=data["file"])
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)
