from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api import IdCursorPagination
from apps.core.perms import AUTHENTICATED

from . import selectors, services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "category", "template", "title", "body", "url", "created_at", "read_at", "is_read"]
        read_only_fields = fields


class UnreadCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="未读条数，最多计到 100")
    badge = serializers.CharField(help_text="铃铛上显示的文字：空、数字或“99+”")


class MarkedSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class NewestFirst(IdCursorPagination):
    ordering = "-id"


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own notifications, newest first; ``?unread=true`` for unread only."""

    serializer_class = NotificationSerializer
    pagination_class = NewestFirst
    permission_map = {
        "list": AUTHENTICATED,
        "retrieve": AUTHENTICATED,
        "read": AUTHENTICATED,
        "read_all": AUTHENTICATED,
        "unread_count": AUTHENTICATED,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Notification.objects.none()
        show = "unread" if self.request.query_params.get("unread") in {"1", "true", "yes"} else "all"
        return selectors.my_notifications(self.request.user, show)

    @action(detail=True, methods=["post"], serializer_class=NotificationSerializer)
    def read(self, request, pk=None):
        """Mark one of your notifications read."""
        notification = selectors.access_notification_by_id(request.user, pk)
        notification = services.do_mark_read(actor=request.user, notification=notification)
        return Response(NotificationSerializer(notification).data)

    @action(detail=False, methods=["post"], url_path="read-all", serializer_class=MarkedSerializer)
    def read_all(self, request):
        """Mark all of your unread notifications read."""
        return Response({"updated": services.do_mark_all_read(actor=request.user)})

    @action(detail=False, methods=["get"], url_path="unread-count", serializer_class=UnreadCountSerializer)
    def unread_count(self, request):
        """The number on the bell."""
        count = selectors.unread_count(request.user)
        return Response({"count": count, "badge": selectors.badge_text(count)})
