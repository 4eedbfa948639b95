from django.http import Http404
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import log_read
from apps.clients.selectors import access_client_by_id
from apps.core.access import access_by_id, scope
from apps.core.api import validated
from apps.core.perms import Perm

from . import selectors, services
from .choices import CaseState, ConsentKind, Decision, DisorderJudgement, GivenBy, OverrideGround, Requester, Severity
from .models import Case, Consent, CounsellingSession, Reception


def _client(request, pk):
    """An in-scope client for a write, or a 400 that does not tell whether it exists elsewhere."""
    try:
        client, emergency = access_client_by_id(request.user, pk, Perm.CLIENT_MANAGE)
    except Http404:
        client, emergency = None, True
    if emergency:
        raise serializers.ValidationError({"client": "没有找到该编号的来访者，或其不在您的管辖范围内。"})
    return client


def _counsellor(request, pk, unit):
    if pk is None:
        return None
    counsellor = selectors.counsellor_choices(request.user, unit).filter(pk=pk).first()
    if counsellor is None:
        raise serializers.ValidationError({"counsellor": "所选咨询师不可指派到该个案。"})
    return counsellor


class CaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Case
        fields = ["id", "client", "unit", "counsellor", "state", "opened_at", "closed_at", "version"]
        read_only_fields = fields


class CaseWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    counsellor = serializers.IntegerField(required=False, allow_null=True)
    requested_by = serializers.ChoiceField(choices=Requester.choices, default=Requester.CLIENT)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    crisis_ground = serializers.ChoiceField(choices=OverrideGround.choices, required=False, allow_blank=True)


class TransitionSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=CaseState.choices)
    requested_by = serializers.ChoiceField(choices=Requester.choices)
    reason = serializers.CharField(max_length=1000)
    crisis_ground = serializers.ChoiceField(choices=OverrideGround.choices, required=False, allow_blank=True)


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cases in the caller's scope; state changes only through ``transition``."""

    serializer_class = CaseSerializer
    permission_map = {
        "list": Perm.CLIENT_VIEW,
        "retrieve": Perm.CLIENT_VIEW,
        "create": Perm.CLIENT_MANAGE,
        "transition": Perm.CLIENT_MANAGE,
    }

    def get_queryset(self):
        return scope(Case.objects.all(), self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(CaseWriteSerializer, request)
        client = _client(request, data["client"])
        counsellor = _counsellor(request, data.get("counsellor"), client.unit)
        case = services.do_open_case(
            actor=request.user,
            client=client,
            counsellor=counsellor,
            requested_by=data["requested_by"],
            reason=data.get("reason", ""),
            crisis_ground=data.get("crisis_ground", ""),
        )
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = selectors.access_case(request.user, pk, Perm.CLIENT_MANAGE)
        data = validated(TransitionSerializer, request)
        services.do_transition_case(actor=request.user, case=case, **data)
        return Response(CaseSerializer(case).data)


class SessionSerializer(serializers.ModelSerializer):
    """A session without its notes (lists, and callers who may not read them)."""

    class Meta:
        model = CounsellingSession
        fields = [
            "id", "case", "counsellor", "happened_at", "duration_minutes", "severe_disorder_judgement", "severity",
            "expected_effect", "suitable_to_continue", "decision", "recording_consent",
        ]  # fmt: skip
        read_only_fields = fields


class SessionNotesSerializer(SessionSerializer):
    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "notes", "problem_focus", "framework", "diagnosis"]
        read_only_fields = fields


class SessionWriteSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    happened_at = serializers.DateTimeField(required=False)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=600)
    notes = serializers.CharField(required=False, allow_blank=True)
    problem_focus = serializers.CharField(required=False, allow_blank=True)
    framework = serializers.CharField(required=False, allow_blank=True)
    severe_disorder_judgement = serializers.ChoiceField(choices=DisorderJudgement.choices, required=False)
    diagnosis = serializers.CharField(required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True)
    expected_effect = serializers.CharField(max_length=200, required=False, allow_blank=True)
    suitable_to_continue = serializers.BooleanField(required=False, default=True)
    decision = serializers.ChoiceField(choices=Decision.choices, required=False)
    recording_consent = serializers.BooleanField(required=False, default=False)
    recording_given_by = serializers.ChoiceField(choices=GivenBy.choices, required=False)


class SessionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Counselling sessions: the list never carries notes; ``retrieve`` shows them to the case's
    counsellor or a note reader, and every such read is audited."""

    serializer_class = SessionSerializer
    permission_map = {"list": Perm.NOTE_VIEW, "retrieve": Perm.NOTE_VIEW, "create": Perm.NOTE_VIEW}

    def get_queryset(self):
        return selectors.visible_sessions(self.request.user)

    def retrieve(self, request, pk=None):
        session = selectors.access_session(request.user, pk)
        if selectors.read_session_notes(request.user, session, request=request, purpose="接口查看咨询记录"):
            return Response(SessionNotesSerializer(session).data)
        return Response(SessionSerializer(session).data)

    def create(self, request):
        data = validated(SessionWriteSerializer, request)
        case = selectors.access_case(request.user, data.pop("case"), Perm.NOTE_VIEW)
        session = services.do_record_session(actor=request.user, case=case, data=data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


class ReceptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reception
        fields = ["id", "client", "case", "unit", "receptionist", "received_at", "told_flow_rights", "crisis"]
        read_only_fields = fields


class ReceptionDetailSerializer(ReceptionSerializer):
    class Meta(ReceptionSerializer.Meta):
        fields = [
            *ReceptionSerializer.Meta.fields,
            *("reason", "history", "preliminary_analysis", "counselling_effect", "next_step_plan", "crisis_action"),
        ]
        read_only_fields = fields


class ReceptionWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    received_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True)
    history = serializers.CharField(required=False, allow_blank=True)
    preliminary_analysis = serializers.CharField(required=False, allow_blank=True)
    counselling_effect = serializers.CharField(required=False, allow_blank=True)
    next_step_plan = serializers.CharField(required=False, allow_blank=True)
    told_flow_rights = serializers.BooleanField(required=False, default=False)
    crisis = serializers.BooleanField(required=False, default=False)
    crisis_action = serializers.CharField(required=False, allow_blank=True)


class ReceptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Receptions: the list shows no free text; ``retrieve`` (receptionists) is audited."""

    serializer_class = ReceptionSerializer
    permission_map = {"list": Perm.CLIENT_VIEW, "retrieve": Perm.CLIENT_MANAGE, "create": Perm.CLIENT_MANAGE}

    def get_queryset(self):
        return selectors.visible_receptions(self.request.user)

    def retrieve(self, request, pk=None):
        reception = selectors.access_reception(request.user, pk)
        log_read(request.user, reception, purpose="接口查看咨询接待登记", request=request)
        return Response(ReceptionDetailSerializer(reception).data)

    def create(self, request):
        data = validated(ReceptionWriteSerializer, request)
        client = _client(request, data.pop("client"))
        reception = services.do_record_reception(actor=request.user, client=client, data=data)
        return Response(ReceptionSerializer(reception).data, status=status.HTTP_201_CREATED)


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["id", "client", "case", "session", "kind", "notice_version", "given_by", "given_at", "withdrawn_at"]
        read_only_fields = fields


class ConsentWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    case = serializers.IntegerField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=[c for c in ConsentKind.choices if c[0] != ConsentKind.RECORDING])
    given_by = serializers.ChoiceField(choices=GivenBy.choices)
    notice_version = serializers.CharField(max_length=20, required=False, allow_blank=True)
    given_at = serializers.DateTimeField(required=False)


class ConsentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ConsentSerializer
    permission_map = {"list": Perm.CLIENT_VIEW, "retrieve": Perm.CLIENT_VIEW, "create": Perm.CLIENT_MANAGE}

    def get_queryset(self):
        return scope(Consent.objects.all(), self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(ConsentWriteSerializer, request)
        client = _client(request, data.pop("client"))
        case_id = data.pop("case", None)
        case = access_by_id(Case.objects.all(), case_id, request.user, Perm.CLIENT_MANAGE) if case_id else None
        consent = services.do_record_consent(actor=request.user, client=client, case=case, **data)
        return Response(ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)
