from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from apps.audit.services import log_read
from apps.core.access import access_by_id, scope
from apps.core.api import validated
from apps.core.perms import Perm
from apps.identity.masks import mask_id, mask_mobile
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import Gender
from .models import Client, ServiceTargetCategory


class ClientSerializer(serializers.ModelSerializer):
    """A client as the API shows it: identifiers masked, like the screens."""

    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Client
        fields = [
            "id", "unit", "name", "gender", "birth_date", "id_number", "phone", "ethnicity", "native_place",
            "education", "political_status", "religion", "categories", "version", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_id_number(self, obj) -> str:
        return mask_id(obj.id_number) if obj.id_number else ""

    def get_phone(self, obj) -> str:
        return mask_mobile(obj.phone) if obj.phone else ""


class ClientWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=50)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False)
    birth_date = serializers.DateField(required=False, allow_null=True)
    id_number = serializers.CharField(max_length=24, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    employer = serializers.CharField(max_length=100, required=False, allow_blank=True)
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True)
    native_place = serializers.CharField(max_length=50, required=False, allow_blank=True)
    education = serializers.CharField(max_length=20, required=False, allow_blank=True)
    political_status = serializers.CharField(max_length=20, required=False, allow_blank=True)
    religion = serializers.CharField(max_length=20, required=False, allow_blank=True)
    categories = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=ServiceTargetCategory.objects.all(), required=False
    )
    version = serializers.IntegerField(required=False)


class ClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clients in the caller's scope. ``?q=`` searches by name, pinyin initials, phone or ID number."""

    serializer_class = ClientSerializer
    permission_map = {
        "list": Perm.CLIENT_VIEW,
        "retrieve": Perm.CLIENT_VIEW,
        "create": Perm.CLIENT_MANAGE,
        "partial_update": Perm.CLIENT_MANAGE,
    }

    def get_queryset(self):
        if self.action == "list":
            return selectors.search_clients(self.request.user, self.request.query_params.get("q", ""))
        return scope(Client.objects.all(), self.request.user, self.permission_map[self.action])

    def paginate_queryset(self, queryset):
        """The cursor page's ids first, then those rows with their categories (as ``selectors.client_page``)."""
        page = super().paginate_queryset(queryset.select_related(None).only("pk"))
        if page is None:
            return None
        rows = selectors.visible_clients(self.request.user).defer("address", "employer").prefetch_related("categories")
        return selectors.rows_in_order(page, rows)

    def retrieve(self, request, pk=None):
        client, emergency = selectors.access_client_by_id(request.user, pk)
        log_read(request.user, client, purpose="紧急调阅" if emergency else "接口查看来访者档案", request=request)
        return Response(ClientSerializer(client).data)

    def create(self, request):
        data = validated(ClientWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit", None), request.user, Perm.CLIENT_MANAGE)
        categories = data.pop("categories", [])
        data.pop("version", None)
        client = services.do_register_client(actor=request.user, unit=unit, data=data, categories=categories)
        return Response(ClientSerializer(client).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        client, _ = selectors.access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
        data = validated(ClientWriteSerializer, request)
        data.pop("unit", None)
        categories = data.pop("categories", None)
        version = data.pop("version", None)
        merged = {field: getattr(client, field) for field in services.FIELDS}
        merged.update(data)
        client = services.do_update_client(
            actor=request.user, client=client, data=merged, categories=categories, expected_version=version
        )
        return Response(ClientSerializer(client).data)
