import django_filters
from rest_framework import mixins, serializers, viewsets

from apps.core.api import IdCursorPagination
from apps.core.perms import Perm

from . import selectors
from .models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "seq",
            "created_at",
            "actor",
            "actor_username",
            "unit",
            "unit_name",
            "role_code",
            "action",
            "action_display",
            "object_type",
            "object_id",
            "object_label",
            "outcome",
            "outcome_display",
            "ip_address",
            "purpose",
            "changes",
            "prev_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class AuditEntryFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["action", "outcome", "actor_username", "object_type", "object_id"]


class NewestFirstPagination(IdCursorPagination):
    ordering = "-id"


class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit log in the caller's scope, newest first. Read-only: entries are never changed."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    pagination_class = NewestFirstPagination
    permission_map = {"list": Perm.AUDIT_VIEW, "retrieve": Perm.AUDIT_VIEW}

    def get_queryset(self):
        return selectors.visible_entries(self.request.user)
