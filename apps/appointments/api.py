from datetime import date

from django.utils import timezone
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import log_read
from apps.clients.selectors import access_client_by_id
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import Perm
from apps.identity.masks import mask_mobile
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import GENDERS, Channel, RoomKind, Status
from .models import Appointment, Room


class AppointmentSerializer(serializers.ModelSerializer):
    """An appointment as lists show it: phone masked, no needs or basic information."""

    contact_phone = serializers.SerializerMethodField()
    counsellor_name = serializers.CharField(source="counsellor.full_name", default="", read_only=True)
    room_name = serializers.CharField(source="room.name", default="", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id", "reference", "unit", "client", "contact_name", "contact_phone", "channel", "counsellor",
            "counsellor_name", "room", "room_name", "starts_at", "ends_at", "status",
            "told_service_content_flow_counsellor", "told_confidentiality_and_change_cancel", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_contact_phone(self, obj) -> str:
        return mask_mobile(obj.contact_phone) if obj.contact_phone else ""


class AppointmentDetailSerializer(AppointmentSerializer):
    needs_symptoms = serializers.CharField(read_only=True)
    basic = serializers.DictField(read_only=True)

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "needs_symptoms", "basic"]
        read_only_fields = fields


class AppointmentWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    client = serializers.IntegerField(required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.ONSITE)
    counsellor = serializers.IntegerField()
    room = serializers.IntegerField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    contact_name = serializers.CharField(max_length=50)
    contact_phone = serializers.CharField(max_length=20)
    needs_symptoms = serializers.CharField(max_length=2000)
    gender = serializers.ChoiceField(choices=GENDERS, required=False, allow_blank=True)
    age = serializers.IntegerField(required=False, allow_null=True)
    family = serializers.CharField(max_length=500, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    told_service_content_flow_counsellor = serializers.BooleanField(default=False)
    told_confidentiality_and_change_cancel = serializers.BooleanField(default=False)
    hours_override = serializers.BooleanField(default=False)  # unit managers only, with a reason
    override_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ConfirmSerializer(serializers.Serializer):
    counsellor = serializers.IntegerField(required=False, allow_null=True)
    room = serializers.IntegerField(required=False, allow_null=True)
    told_service = serializers.BooleanField(default=False)


class ChangeSerializer(ConfirmSerializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=500)
    hours_override = serializers.BooleanField(default=False)
    override_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _counsellor(user, pk):
    if pk in (None, ""):
        return None
    counsellor = services.counsellor_candidates(user).filter(pk=pk).first()
    if counsellor is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({"counsellor": "只能选择本单位及下级单位的咨询师。"})
    return counsellor


def _room(user, pk):
    if pk in (None, ""):
        return None
    return access_by_id(Room.objects.select_related("unit"), pk, user, Perm.APPOINTMENT_MANAGE)


class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Appointments in the caller's scope; ``?date=YYYY-MM-DD`` for one day in time order, ``?status=``."""

    serializer_class = AppointmentSerializer
    permission_map = {
        "list": Perm.CLIENT_VIEW,
        "retrieve": Perm.CLIENT_VIEW,
        "create": Perm.APPOINTMENT_MANAGE,
        "confirm": Perm.APPOINTMENT_MANAGE,
        "change": Perm.APPOINTMENT_MANAGE,
        "cancel": Perm.APPOINTMENT_MANAGE,
    }

    def get_queryset(self):
        params = self.request.query_params
        state = params.get("status", "")
        state = state if state in Status.values else ""
        try:
            day = date.fromisoformat(params["date"]) if params.get("date") else None
        except ValueError:
            day = timezone.localdate()
        if day is not None:
            rows = selectors.day_appointments(self.request.user, day, mine=params.get("mine") == "1")
            return rows.filter(status=state) if state else rows
        return selectors.search_appointments(self.request.user, state)

    def list(self, request, *args, **kwargs):
        if request.query_params.get("date"):  # one day: all of it, in time order
            rows = list(self.get_queryset()[:500])
            return Response(AppointmentSerializer(rows, many=True).data)
        return super().list(request, *args, **kwargs)

    def _get(self, pk, perm):
        return access_by_id(
            Appointment.objects.select_related("unit", "counsellor", "room"), pk, self.request.user, perm
        )

    def retrieve(self, request, pk=None):
        appointment = self._get(pk, Perm.CLIENT_VIEW)
        log_read(request.user, appointment, purpose="接口查看预约", request=request)
        return Response(AppointmentDetailSerializer(appointment).data)

    def create(self, request):
        data = validated(AppointmentWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, Perm.APPOINTMENT_MANAGE)
        data["counsellor"] = _counsellor(request.user, data.get("counsellor"))
        data["room"] = _room(request.user, data.get("room"))
        client_id = data.pop("client", None)
        data["client"] = access_client_by_id(request.user, client_id)[0] if client_id else None
        appointment = services.do_book_appointment(actor=request.user, unit=unit, data=data)
        return Response(AppointmentDetailSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        appointment = self._get(pk, Perm.APPOINTMENT_MANAGE)
        data = validated(ConfirmSerializer, request)
        appointment = services.do_confirm_appointment(
            actor=request.user,
            appointment=appointment,
            counsellor=_counsellor(request.user, data.get("counsellor")),
            room=_room(request.user, data.get("room")),
            told_service=data["told_service"],
        )
        return Response(AppointmentSerializer(appointment).data)

    @action(detail=True, methods=["post"])
    def change(self, request, pk=None):
        appointment = self._get(pk, Perm.APPOINTMENT_MANAGE)
        data = validated(ChangeSerializer, request)
        appointment = services.do_change_appointment(
            actor=request.user,
            appointment=appointment,
            starts_at=data["starts_at"],
            ends_at=data.get("ends_at"),
            counsellor=_counsellor(request.user, data.get("counsellor")),
            room=_room(request.user, data.get("room")),
            reason=data["reason"],
            hours_override=data["hours_override"],
            override_reason=data.get("override_reason", ""),
        )
        return Response(AppointmentSerializer(appointment).data)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        appointment = self._get(pk, Perm.APPOINTMENT_MANAGE)
        data = validated(ReasonSerializer, request)
        appointment = services.do_cancel_appointment(actor=request.user, appointment=appointment, reason=data["reason"])
        return Response(AppointmentSerializer(appointment).data)


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "unit", "name", "kind", "capacity", "active"]
        read_only_fields = ["id"]


class RoomWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    name = serializers.CharField(max_length=50)
    kind = serializers.ChoiceField(choices=RoomKind.choices, default=RoomKind.INDIVIDUAL)
    capacity = serializers.IntegerField(min_value=1, max_value=200, default=2)
    active = serializers.BooleanField(default=True)


class RoomViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rooms of the units in the caller's scope."""

    serializer_class = RoomSerializer
    permission_map = {"list": Perm.CLIENT_VIEW, "retrieve": Perm.CLIENT_VIEW, "create": Perm.APPOINTMENT_MANAGE}

    def get_queryset(self):
        return selectors.visible_rooms(self.request.user).order_by("id")

    def create(self, request):
        data = validated(RoomWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, Perm.APPOINTMENT_MANAGE)
        room = services.do_save_room(actor=request.user, unit=unit, data=data)
        return Response(RoomSerializer(room).data, status=status.HTTP_201_CREATED)
