"""REST endpoints of the membership module (X-6); xinyuan/urls.py registers every entry of ROUTES.

Identifiers are masked as on the screens; a member calling ``membership/me`` gets only their own
records.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import log_read
from apps.core.access import access_by_id, can, scope
from apps.core.api import choose_assignment, validated
from apps.core.perms import AUTHENTICATED, Perm
from apps.identity.masks import mask_id, mask_mobile

from . import selectors, services
from .choices import ApplicationStatus, DuesMethod, EthicsPrinciple, Tier, VoteChoice
from .models import AdmissionVote, Application, Certificate, DuesPayment, EthicsComplaint, Member


class ApplicationSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    committees = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Application
        fields = [
            "id", "association", "reference", "status", "name", "gender", "birth_date", "id_number", "phone",
            "education", "major", "job_title", "specialties", "committees", "submitted_at", "reviewed_at",
            "review_note", "route", "decided_at", "member",
        ]  # fmt: skip
        read_only_fields = fields

    def get_id_number(self, obj) -> str:
        return mask_id(obj.id_number)

    def get_phone(self, obj) -> str:
        return mask_mobile(obj.phone)


class ReviewSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    final = serializers.BooleanField(
        required=False, default=False, help_text="不通过时：true 为不予通过（终结），false 为退回修改"
    )


class BallotSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=VoteChoice.choices)


class SimplifiedSerializer(serializers.Serializer):
    licence = serializers.IntegerField()


class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Membership applications of the caller's associations; ``?status=`` filters by stage."""

    serializer_class = ApplicationSerializer
    permission_map = {
        "list": Perm.MEMBERSHIP_VIEW,
        "retrieve": Perm.MEMBERSHIP_VIEW,
        "review": Perm.MEMBERSHIP_REVIEW,
        "simplified": Perm.MEMBERSHIP_REVIEW,
        "ballot": Perm.MEMBERSHIP_VOTE,
        "close_vote": Perm.MEMBERSHIP_VOTE_CLOSE,
    }

    def get_queryset(self):
        rows = Application.objects.visible_to(self.request.user, self.permission_map[self.action])
        wanted = self.request.query_params.get("status")
        if wanted in ApplicationStatus.values:
            rows = rows.filter(status=wanted)
        return rows.prefetch_related("committees").order_by("id")

    def _get(self, pk):
        return access_by_id(Application.objects.all(), pk, self.request.user, self.permission_map[self.action])

    def check_permissions(self, request):
        """The ballot is also open to a board seat held through the ``member`` grant (H-MEM-2), as on the page."""
        if self.action == "ballot" and request.user.is_authenticated:
            choose_assignment(request, request.user)  # a foreign or invalid header is refused (403), as elsewhere
            if not can(request.user, Perm.MEMBERSHIP_VOTE) and selectors.board_seat_association(request.user):
                return
        super().check_permissions(request)

    def retrieve(self, request, pk=None):
        application = self._get(pk)
        log_read(request.user, application, purpose="接口查看入会申请", request=request)
        return Response(ApplicationSerializer(application).data)

    @action(detail=True, methods=["post"], serializer_class=ReviewSerializer)
    def review(self, request, pk=None):
        """First review: pass to the board vote, return for changes, or refuse (``final``), with a note."""
        application = self._get(pk)
        data = validated(ReviewSerializer, request)
        application = services.do_review_application(
            actor=request.user, application=application, passed=data["passed"], note=data["note"], final=data["final"]
        )
        return Response(ApplicationSerializer(application).data)

    @action(detail=True, methods=["post"], serializer_class=SimplifiedSerializer)
    def simplified(self, request, pk=None):
        """Admit a licensed applicant directly (simplified procedure), naming the licence."""
        application = self._get(pk)
        data = validated(SimplifiedSerializer, request)
        licence = Certificate.objects.filter(pk=data["licence"], application=application).first()
        application = services.do_admit_simplified(actor=request.user, application=application, licence=licence)
        return Response(ApplicationSerializer(application).data)

    @action(detail=True, methods=["post"], serializer_class=BallotSerializer)
    def ballot(self, request, pk=None):
        """A current board member votes once: approve, reject or abstain."""
        application = selectors.application_for_voter(request.user, pk)
        data = validated(BallotSerializer, request)
        ballot = services.do_cast_ballot(actor=request.user, application=application, choice=data["choice"])
        return Response({"id": ballot.pk, "choice": ballot.choice}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="close-vote")
    def close_vote(self, request, pk=None):
        """Close the board vote and count it; an approval admits the applicant."""
        application = services.do_close_vote(actor=request.user, application=self._get(pk))
        return Response(ApplicationSerializer(application).data)


class VoteSerializer(serializers.ModelSerializer):
    ballots = serializers.SerializerMethodField()

    class Meta:
        model = AdmissionVote
        fields = [
            "id", "application", "opened_at", "closed_at", "result", "approve_count", "reject_count",
            "abstain_count", "ballots",
        ]  # fmt: skip
        read_only_fields = fields

    def get_ballots(self, obj) -> list[dict]:
        if obj.closed_at is None:
            return []
        return [{"voter": b.voter_id, "choice": b.choice} for b in obj.ballots.all()]


class VoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Admission votes and, once closed, their ballots (the vote record is kept)."""

    serializer_class = VoteSerializer
    permission_map = {"list": Perm.MEMBERSHIP_VIEW, "retrieve": Perm.MEMBERSHIP_VIEW}

    def get_queryset(self):
        return (
            scope(AdmissionVote.objects.all(), self.request.user, Perm.MEMBERSHIP_VIEW)
            .prefetch_related("ballots")
            .order_by("id")
        )


class MemberSerializer(serializers.ModelSerializer):
    tier = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    committees = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = [
            "id", "association", "number", "name", "gender", "id_number", "phone", "joined_on", "status",
            "revoked_on", "tier", "committees",
        ]  # fmt: skip
        read_only_fields = fields

    def get_tier(self, obj) -> str:
        tiers = self.context.get("tiers")
        return tiers[obj.pk] if tiers and obj.pk in tiers else selectors.tier_of(obj)

    def get_id_number(self, obj) -> str:
        return mask_id(obj.id_number) if obj.id_number else ""

    def get_phone(self, obj) -> str:
        return mask_mobile(obj.phone) if obj.phone else ""

    def get_committees(self, obj) -> list[int]:
        return [c.committee_id for c in obj.committees.all() if c.left_on is None]


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Members of the caller's associations, with their derived tier; ``?tier=`` filters."""

    serializer_class = MemberSerializer
    permission_map = {"list": Perm.MEMBERSHIP_VIEW, "retrieve": Perm.MEMBERSHIP_VIEW}

    def get_queryset(self):
        return (
            scope(Member.objects.all(), self.request.user, Perm.MEMBERSHIP_VIEW)
            .prefetch_related("committees")
            .order_by("id")
        )

    def list(self, request):
        rows = self.paginate_queryset(self.get_queryset())
        tiers = selectors.tiers_of([m.pk for m in rows])
        wanted = request.query_params.get("tier")
        if wanted in Tier.values:
            rows = [m for m in rows if tiers[m.pk] == wanted]
        data = MemberSerializer(rows, many=True, context={"tiers": tiers}).data
        return self.get_paginated_response(data)

    def retrieve(self, request, pk=None):
        member = access_by_id(Member.objects.all(), pk, request.user, Perm.MEMBERSHIP_VIEW)
        log_read(request.user, member, purpose="接口查看会员档案", request=request)
        return Response(MemberSerializer(member).data)


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = DuesPayment
        fields = [
            "id", "member", "year", "amount", "paid_on", "method", "receipt_number", "is_supplement",
            "supplement_reason", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at"]


class PaymentWriteSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    year = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)
    paid_on = serializers.DateField()
    method = serializers.ChoiceField(choices=DuesMethod.choices)
    receipt_number = serializers.CharField(max_length=40)
    is_supplement = serializers.BooleanField(required=False, default=False)
    supplement_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DuesViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The dues ledger; ``?year=`` filters; POST records a payment."""

    serializer_class = PaymentSerializer
    permission_map = {"list": Perm.DUES_MANAGE, "create": Perm.DUES_MANAGE}

    def get_queryset(self):
        rows = scope(DuesPayment.objects.all(), self.request.user, Perm.DUES_MANAGE).order_by("id")
        year = self.request.query_params.get("year", "")
        return rows.filter(year=int(year)) if year.isdigit() else rows

    def create(self, request):
        data = validated(PaymentWriteSerializer, request)
        member = access_by_id(Member.objects.all(), data.pop("member"), request.user, Perm.DUES_MANAGE)
        payment = services.do_record_payment(actor=request.user, member=member, **data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class ComplaintSerializer(serializers.ModelSerializer):
    class Meta:
        model = EthicsComplaint
        fields = ["id", "member", "principle", "received_on", "status", "decided_on"]
        read_only_fields = fields


class ComplaintWriteSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    complainant = serializers.CharField(max_length=50)
    contact = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    principle = serializers.ChoiceField(choices=EthicsPrinciple.choices)
    description = serializers.CharField()
    received_on = serializers.DateField()


class ComplaintViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Ethics complaints against members (complainant details are not exposed); POST registers one."""

    serializer_class = ComplaintSerializer
    permission_map = {"list": Perm.CONDUCT_MANAGE, "create": Perm.CONDUCT_MANAGE}

    def get_queryset(self):
        return scope(EthicsComplaint.objects.all(), self.request.user, Perm.CONDUCT_MANAGE).order_by("id")

    def create(self, request):
        data = validated(ComplaintWriteSerializer, request)
        member = access_by_id(Member.objects.all(), data.pop("member"), request.user, Perm.CONDUCT_MANAGE)
        complaint = services.do_register_complaint(actor=request.user, member=member, **data)
        return Response(ComplaintSerializer(complaint).data, status=status.HTTP_201_CREATED)


class MeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own member records — nobody else's."""

    serializer_class = MemberSerializer
    pagination_class = None
    permission_map = {"list": AUTHENTICATED}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Member.objects.none()
        return selectors.members_for_user(self.request.user).prefetch_related("committees")


ROUTES: list = [
    ("membership/applications", ApplicationViewSet, "membership-application"),
    ("membership/votes", VoteViewSet, "membership-vote"),
    ("membership/members", MemberViewSet, "membership-member"),
    ("membership/dues", DuesViewSet, "membership-dues"),
    ("membership/complaints", ComplaintViewSet, "membership-complaint"),
    ("membership/me", MeViewSet, "membership-me"),
]
