"""DRF endpoints of remote inquiries, home visits, interventions, referrals and disclosures.

Lists leave out the encrypted free text; opening one record shows it and is audited.
"""

from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import User
from apps.audit.services import log_read
from apps.core.access import access_by_id
from apps.core.api import validated
from apps.core.perms import Perm
from apps.identity.masks import mask_mobile, mask_name
from apps.orgs.models import OrgUnit
from apps.workdays.serializers import ESTIMATE_FIELDS, EstimatedDeadlineMixin

from . import selectors, services
from .choices import Channel, InterventionKind, VisitKind
from .models import Disclosure, HomeVisit, Intervention, Referral, RemoteInquiry

READ, WRITE = Perm.CLIENT_VIEW, Perm.CLIENT_MANAGE


def _client(request, pk):
    from apps.clients.models import Client

    return access_by_id(Client.objects.all(), pk, request.user, WRITE)


def _case(request, pk):
    if pk is None:
        return None
    from apps.casework.models import Case

    return access_by_id(Case.objects.all(), pk, request.user, WRITE)


def _users(pks):
    return list(User.objects.filter(pk__in=pks or []))


class ReadAudited:
    """``retrieve`` audits the read of encrypted text."""

    read_purpose = "接口查看记录"
    detail_serializer = None

    def retrieve(self, request, pk=None):
        obj = access_by_id(self.get_queryset(), pk, request.user, READ)
        log_read(request.user, obj, purpose=self.read_purpose, request=request)
        return Response(self.detail_serializer(obj).data)


# --- inquiries ----------------------------------------------------------------------------------


class InquirySerializer(EstimatedDeadlineMixin, serializers.ModelSerializer):
    deadline_field = "reply_due"
    contact_name = serializers.SerializerMethodField()
    contact_phone = serializers.SerializerMethodField()

    class Meta:
        model = RemoteInquiry
        fields = [
            "id", "unit", "channel", "received_at", "client", "contact_name", "contact_phone", "reply_due",
            *ESTIMATE_FIELDS, "answered_at", "answered_by",
        ]  # fmt: skip
        read_only_fields = fields

    def get_contact_name(self, obj) -> str:
        return mask_name(obj.contact_name) if obj.contact_name else ""

    def get_contact_phone(self, obj) -> str:
        return mask_mobile(obj.contact_phone) if obj.contact_phone else ""


class InquiryDetailSerializer(InquirySerializer):
    class Meta(InquirySerializer.Meta):
        fields = [*InquirySerializer.Meta.fields, "question", "answer"]
        read_only_fields = fields


class InquiryWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    received_at = serializers.DateTimeField()
    question = serializers.CharField(max_length=5000)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    client = serializers.IntegerField(required=False, allow_null=True)
    answer = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)


class RemoteInquiryViewSet(ReadAudited, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Remote inquiries in the caller's scope; ``?state=open|overdue|answered`` filters."""

    serializer_class = InquirySerializer
    detail_serializer = InquiryDetailSerializer
    read_purpose = "接口查看远程咨询"
    permission_map = {"list": READ, "retrieve": READ, "create": WRITE, "answer": WRITE}

    def get_queryset(self):
        if self.action == "list":
            return selectors.inquiries(self.request.user, self.request.query_params.get("state", ""))
        return selectors.visible_inquiries(self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(InquiryWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, WRITE)
        client_pk = data.pop("client", None)
        client = _client(request, client_pk) if client_pk else None
        inquiry = services.do_record_inquiry(actor=request.user, unit=unit, client=client, **data)
        return Response(InquiryDetailSerializer(inquiry).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        inquiry = access_by_id(RemoteInquiry.objects.all(), pk, request.user, WRITE)
        data = validated(AnswerSerializer, request)
        inquiry = services.do_answer_inquiry(actor=request.user, inquiry=inquiry, answer=data["answer"])
        return Response(InquiryDetailSerializer(inquiry).data)


# --- home visits --------------------------------------------------------------------------------


class VisitSerializer(serializers.ModelSerializer):
    staff = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = HomeVisit
        fields = [
            "id", "client", "case", "unit", "kind", "planned_for", "interval_days", "visited_at", "staff", "status",
            "next_visit",
        ]  # fmt: skip
        read_only_fields = fields


class VisitDetailSerializer(VisitSerializer):
    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "preparation_notes", "family_present", "record"]
        read_only_fields = fields


class VisitPlanSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    case = serializers.IntegerField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=VisitKind.choices)
    planned_for = serializers.DateField()
    interval_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=366)
    preparation_notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    staff = serializers.ListField(child=serializers.IntegerField(), required=False)


class VisitRecordSerializer(serializers.Serializer):
    visited_at = serializers.DateTimeField()
    staff = serializers.ListField(child=serializers.IntegerField())
    family_present = serializers.CharField(max_length=100)
    record = serializers.CharField(max_length=10000)


class HomeVisitViewSet(ReadAudited, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Home visits in the caller's scope; ``?mine=1`` lists the caller's visits due within a week."""

    serializer_class = VisitSerializer
    detail_serializer = VisitDetailSerializer
    read_purpose = "接口查看上门关怀记录"
    permission_map = {"list": READ, "retrieve": READ, "create": WRITE, "record": WRITE}

    def get_queryset(self):
        if self.action == "list" and self.request.query_params.get("mine"):
            return selectors.my_visits(self.request.user)
        return selectors.visible_visits(self.request.user, self.permission_map[self.action]).prefetch_related("staff")

    def create(self, request):
        data = validated(VisitPlanSerializer, request)
        client = _client(request, data.pop("client"))
        case = _case(request, data.pop("case", None))
        staff = _users(data.pop("staff", []))
        visit = services.do_plan_visit(actor=request.user, client=client, case=case, staff=staff, **data)
        return Response(VisitDetailSerializer(visit).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        visit = access_by_id(HomeVisit.objects.all(), pk, request.user, WRITE)
        data = validated(VisitRecordSerializer, request)
        data["staff"] = _users(data["staff"])
        visit = services.do_record_visit(actor=request.user, visit=visit, **data)
        return Response(VisitDetailSerializer(visit).data)


# --- interventions ------------------------------------------------------------------------------


class InterventionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Intervention
        fields = ["id", "client", "case", "unit", "kind", "happened_at", "recorded_by"]
        read_only_fields = fields


class InterventionDetailSerializer(InterventionSerializer):
    class Meta(InterventionSerializer.Meta):
        fields = [*InterventionSerializer.Meta.fields, "description"]
        read_only_fields = fields


class InterventionWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    case = serializers.IntegerField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=InterventionKind.choices)
    happened_at = serializers.DateTimeField()
    description = serializers.CharField(max_length=10000)


class InterventionViewSet(ReadAudited, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = InterventionSerializer
    detail_serializer = InterventionDetailSerializer
    read_purpose = "接口查看心理干预记录"
    permission_map = {"list": READ, "retrieve": READ, "create": WRITE}

    def get_queryset(self):
        return selectors.visible_interventions(self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(InterventionWriteSerializer, request)
        client = _client(request, data.pop("client"))
        case = _case(request, data.pop("case", None))
        row = services.do_record_intervention(actor=request.user, client=client, case=case, **data)
        return Response(InterventionDetailSerializer(row).data, status=status.HTTP_201_CREATED)


# --- referrals and disclosures ------------------------------------------------------------------


class ReferralSerializer(serializers.ModelSerializer):
    class Meta:
        model = Referral
        fields = [
            "id", "client", "case", "unit", "institution", "materials", "referred_on", "consent_reference",
            "outcome", "outcome_at", "status",
        ]  # fmt: skip
        read_only_fields = fields


class ReferralDetailSerializer(ReferralSerializer):
    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "reason"]
        read_only_fields = fields


class ReferralWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    case = serializers.IntegerField(required=False, allow_null=True)
    institution = serializers.CharField(max_length=100)
    reason = serializers.CharField(max_length=5000)
    materials = serializers.ListField(child=serializers.CharField(max_length=200), allow_empty=False)
    referred_on = serializers.DateField()
    consent_reference = serializers.CharField(max_length=200)


class OutcomeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s.value for s in services.OUTCOME_STATUSES])
    outcome = serializers.CharField(max_length=2000)


class ReferralViewSet(ReadAudited, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ReferralSerializer
    detail_serializer = ReferralDetailSerializer
    read_purpose = "接口查看转介记录"
    permission_map = {"list": READ, "retrieve": READ, "create": WRITE, "outcome": WRITE}

    def get_queryset(self):
        return selectors.visible_referrals(self.request.user, self.permission_map[self.action])

    def create(self, request):
        data = validated(ReferralWriteSerializer, request)
        client = _client(request, data.pop("client"))
        case = _case(request, data.pop("case", None))
        referral = services.do_refer(actor=request.user, client=client, case=case, **data)
        return Response(ReferralDetailSerializer(referral).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        referral = access_by_id(Referral.objects.all(), pk, request.user, WRITE)
        data = validated(OutcomeSerializer, request)
        referral = services.do_record_referral_outcome(actor=request.user, referral=referral, **data)
        return Response(ReferralDetailSerializer(referral).data)


class DisclosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Disclosure
        fields = ["id", "client", "recipient", "what", "legal_basis", "disclosed_at", "recorded_by", "referral"]
        read_only_fields = fields


class DisclosureWriteSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    recipient = serializers.CharField(max_length=100)
    what = serializers.CharField(max_length=2000)
    legal_basis = serializers.CharField(max_length=200)
    disclosed_at = serializers.DateTimeField()


class DisclosureViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The disclosure register; ``?client=<id>`` narrows it to one client."""

    serializer_class = DisclosureSerializer
    permission_map = {"list": READ, "retrieve": READ, "create": WRITE}

    def get_queryset(self):
        rows = selectors.visible_disclosures(self.request.user, self.permission_map[self.action])
        client = self.request.query_params.get("client", "")
        return rows.filter(client_id=int(client)) if client.isdigit() else rows

    def create(self, request):
        data = validated(DisclosureWriteSerializer, request)
        client = _client(request, data.pop("client"))
        row = services.do_record_disclosure(actor=request.user, client=client, **data)
        return Response(DisclosureSerializer(row).data, status=status.HTTP_201_CREATED)
