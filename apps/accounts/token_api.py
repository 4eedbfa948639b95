"""The caller's own API tokens over the API (X-6, issue 14 item 3): list, read and revoke.

Making a token needs the password (and code) entered again a moment ago, which only the page
``/accounts/me/token/`` can ask for; so a token cannot mint a longer-lived successor of itself.
"""

from django.http import Http404
from rest_framework import mixins, serializers, viewsets

from apps.core.perms import AUTHENTICATED

from .models import ApiToken
from .tokens import STATE_LABELS, do_revoke_token, token_state


class ApiTokenSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField(help_text="active 有效 / revoked 已作废 / expired 已过期 / idle 长期未用")
    state_label = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_reason",
            "state",
            "state_label",
        ]
        read_only_fields = fields

    def get_state(self, token) -> str:
        return token_state(token)

    def get_state_label(self, token) -> str:
        return STATE_LABELS[token_state(token)]


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The caller's own API tokens; DELETE revokes one (the row stays, marked revoked)."""

    serializer_class = ApiTokenSerializer
    permission_map = {"list": AUTHENTICATED, "retrieve": AUTHENTICATED, "destroy": AUTHENTICATED}

    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).select_related("user")

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        token = self.get_queryset().filter(pk=pk).first() if 0 < pk < 2**62 else None
        if token is None:
            raise Http404
        return token

    def perform_destroy(self, instance):
        do_revoke_token(actor=self.request.user, token=instance)
