from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.access import access_by_id, scope
from apps.core.api import validated
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from . import selectors, services
from .models import Assignment, GrantRequest, Role, User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "full_name", "unit", "mobile", "email", "is_active", "version"]
        read_only_fields = fields


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=30)
    full_name = serializers.CharField(max_length=50)
    unit = serializers.IntegerField()
    password = serializers.CharField(max_length=128, write_only=True)
    mobile = serializers.CharField(max_length=20, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)


class UserUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=50)
    unit = serializers.IntegerField()
    mobile = serializers.CharField(max_length=20, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class ActiveSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()
    version = serializers.IntegerField(required=False)


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "code", "name", "description", "permissions", "builtin"]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assignment
        fields = ["id", "user", "unit", "role", "created_at"]
        read_only_fields = fields


class AssignmentCreateSerializer(serializers.Serializer):
    """Plain ids: a missing and an out-of-scope user or unit must both answer 404."""

    user = serializers.IntegerField()
    unit = serializers.IntegerField()
    role = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all())


def _unit_for_users(request, pk) -> OrgUnit:
    return access_by_id(OrgUnit.objects.all(), pk, request.user, Perm.USER_MANAGE)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff accounts whose home unit lies in the caller's scope."""

    serializer_class = UserSerializer
    filterset_fields = ["unit", "is_active"]
    permission_map = {
        "list": Perm.USER_VIEW,
        "retrieve": Perm.USER_VIEW,
        "create": Perm.USER_MANAGE,
        "partial_update": Perm.USER_MANAGE,
        "set_active": Perm.USER_MANAGE,
    }

    def get_queryset(self):
        return scope(User.objects.all(), self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(UserCreateSerializer, request)
        data["unit"] = _unit_for_users(request, data["unit"])
        user = services.do_create_user(actor=request.user, **data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        subject = access_by_id(User.objects.all(), pk, request.user, Perm.USER_MANAGE)
        data = validated(UserUpdateSerializer, request)
        user = services.do_update_user(
            actor=request.user,
            user=subject,
            full_name=data["full_name"],
            unit=_unit_for_users(request, data["unit"]),
            mobile=data.get("mobile", ""),
            email=data.get("email", ""),
            expected_version=data.get("version"),
        )
        return Response(UserSerializer(user).data)

    @action(detail=True, methods=["post"], url_path="set-active", serializer_class=ActiveSerializer)
    def set_active(self, request, pk=None):
        subject = access_by_id(User.objects.all(), pk, request.user, Perm.USER_MANAGE)
        data = validated(ActiveSerializer, request)
        user = services.do_set_active(
            actor=request.user, user=subject, active=data["is_active"], expected_version=data.get("version")
        )
        return Response(UserSerializer(user).data)


class AssignmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Role assignments at units in the caller's scope."""

    serializer_class = AssignmentSerializer
    filterset_fields = ["user", "unit", "role"]
    permission_map = {
        "list": Perm.USER_VIEW,
        "retrieve": Perm.USER_VIEW,
        "create": Perm.USER_MANAGE,
        "destroy": Perm.USER_MANAGE,
    }

    def get_queryset(self):
        return scope(Assignment.objects.all(), self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(AssignmentCreateSerializer, request)
        subject = access_by_id(User.objects.all(), data["user"], request.user, Perm.USER_MANAGE)
        unit = _unit_for_users(request, data["unit"])
        assignment = services.do_assign_role(actor=request.user, user=subject, unit=unit, role=data["role"])
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.do_revoke_assignment(actor=self.request.user, assignment=instance)


class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The roles that can be assigned, with their permission codes."""

    serializer_class = RoleSerializer
    queryset = Role.objects.all()
    permission_map = {"list": Perm.ROLE_VIEW, "retrieve": Perm.ROLE_VIEW}


class GrantRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = GrantRequest
        fields = [
            "id",
            "user",
            "unit",
            "role",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "assignment",
        ]
        read_only_fields = fields


class GrantRequestCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    unit = serializers.IntegerField()
    role = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all())
    reason = serializers.CharField(max_length=500)


class GrantDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class GrantRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests for roles that read counselling notes (issue 14, two-person rule).

    Unit managers list and create the requests at units in their scope; the security administrator
    lists the pending ones (``pending``) and approves or refuses them.
    """

    serializer_class = GrantRequestSerializer
    filterset_fields = ["status", "user", "unit", "role"]
    permission_map = {
        "list": Perm.USER_MANAGE,
        "retrieve": Perm.USER_MANAGE,
        "create": Perm.USER_MANAGE,
        "pending": Perm.SECURITY_MANAGE,
        "approve": Perm.SECURITY_MANAGE,
        "refuse": Perm.SECURITY_MANAGE,
    }

    def get_queryset(self):
        return scope(GrantRequest.objects.all(), self.request.user, self.permission_map[self.action]).order_by("-id")

    def create(self, request):
        data = validated(GrantRequestCreateSerializer, request)
        subject = access_by_id(User.objects.all(), data["user"], request.user, Perm.USER_MANAGE)
        unit = _unit_for_users(request, data["unit"])
        grant_request = services.do_request_grant(
            actor=request.user, user=subject, unit=unit, role=data["role"], reason=data["reason"]
        )
        return Response(GrantRequestSerializer(grant_request).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["get"])
    def pending(self, request):
        rows = selectors.grant_requests_to_review(request.user)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(GrantRequestSerializer(page, many=True).data)

    def _decide(self, request, pk, approve: bool):
        grant_request = access_by_id(GrantRequest.objects.all(), pk, request.user, Perm.SECURITY_MANAGE)
        data = validated(GrantDecisionSerializer, request)
        decided = services.do_decide_grant_request(
            actor=request.user, grant_request=grant_request, approve=approve, reason=data.get("reason", "")
        )
        return Response(GrantRequestSerializer(decided).data)

    @action(detail=True, methods=["post"], serializer_class=GrantDecisionSerializer)
    def approve(self, request, pk=None):
        return self._decide(request, pk, True)

    @action(detail=True, methods=["post"], serializer_class=GrantDecisionSerializer)
    def refuse(self, request, pk=None):
        return self._decide(request, pk, False)
