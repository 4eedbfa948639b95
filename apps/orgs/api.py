from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.access import access_by_id, scope
from apps.core.api import validated
from apps.core.perms import Perm

from . import services
from .choices import UnitKind
from .models import OrgUnit


class OrgUnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "parent",
            "kind",
            "kind_display",
            "level",
            "code",
            "name",
            "path",
            "depth",
            "is_active",
            "version",
        ]
        read_only_fields = fields


class OrgUnitCreateSerializer(serializers.Serializer):
    parent = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=UnitKind.choices)
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=32)


class OrgUnitRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=32)
    version = serializers.IntegerField(required=False)


class OrgUnitMoveSerializer(serializers.Serializer):
    new_parent = serializers.IntegerField()
    version = serializers.IntegerField(required=False)


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False)


class OrgUnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Org units in the caller's scope. Filter with ``parent`` or ``kind``."""

    serializer_class = OrgUnitSerializer
    filterset_fields = ["parent", "kind", "is_active"]
    permission_map = {
        "list": Perm.ORG_VIEW,
        "retrieve": Perm.ORG_VIEW,
        "create": Perm.ORG_MANAGE,
        "partial_update": Perm.ORG_MANAGE,
        "move": Perm.ORG_MANAGE,
        "deactivate": Perm.ORG_MANAGE,
        "reactivate": Perm.ORG_MANAGE,
    }

    def get_queryset(self):
        return scope(OrgUnit.objects.all(), self.request.user, self.permission_map[self.action])

    def _managed(self, pk) -> OrgUnit:
        return access_by_id(OrgUnit.objects.all(), pk, self.request.user, Perm.ORG_MANAGE)

    def _done(self, unit, code=status.HTTP_200_OK):
        return Response(OrgUnitSerializer(unit).data, status=code)

    def create(self, request):
        data = validated(OrgUnitCreateSerializer, request)
        parent = self._managed(data.pop("parent"))
        return self._done(services.do_create_unit(actor=request.user, parent=parent, **data), status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        unit = self._managed(pk)
        data = validated(OrgUnitRenameSerializer, request)
        return self._done(
            services.do_rename_unit(
                actor=request.user,
                unit=unit,
                name=data["name"],
                code=data["code"],
                expected_version=data.get("version"),
            )
        )

    @action(detail=True, methods=["post"], serializer_class=OrgUnitMoveSerializer)
    def move(self, request, pk=None):
        unit = self._managed(pk)
        data = validated(OrgUnitMoveSerializer, request)
        new_parent = self._managed(data["new_parent"])
        return self._done(
            services.do_move_unit(
                actor=request.user, unit=unit, new_parent=new_parent, expected_version=data.get("version")
            )
        )

    @action(detail=True, methods=["post"], serializer_class=VersionSerializer)
    def deactivate(self, request, pk=None):
        unit = self._managed(pk)
        data = validated(VersionSerializer, request)
        return self._done(
            services.do_deactivate_unit(actor=request.user, unit=unit, expected_version=data.get("version"))
        )

    @action(detail=True, methods=["post"], serializer_class=VersionSerializer)
    def reactivate(self, request, pk=None):
        unit = self._managed(pk)
        data = validated(VersionSerializer, request)
        return self._done(
            services.do_reactivate_unit(actor=request.user, unit=unit, expected_version=data.get("version"))
        )
