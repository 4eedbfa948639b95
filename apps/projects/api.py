"""REST endpoints of association projects (H-PROJ-1).

xinyuan/urls.py registers every (prefix, viewset, basename) in ROUTES. Services raise Chinese
``ValidationError``s, which ``apps.core.api.exception_handler`` turns into 400s.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.access import access_by_id, active_grant
from apps.core.api import validated
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import ExpenseDecision, ExpenseStatus, ProjectKind
from .models import BudgetLine, Expense, Milestone, Project

VIEW, MANAGE, APPROVE = Perm.PROJECT_VIEW, Perm.PROJECT_MANAGE, Perm.PROJECT_APPROVE


class ProjectSerializer(serializers.ModelSerializer):
    budget_total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    spent_total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = Project
        fields = [
            "id", "unit", "name", "kind", "sponsor", "manager", "start_date", "end_date", "status", "budget_total",
            "spent_total", "final_budget_total", "final_spent_total", "final_accounts_at", "accepted_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class LineSerializer(serializers.ModelSerializer):
    spent = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = BudgetLine
        fields = ["id", "name", "amount", "spent", "remaining", "version"]
        read_only_fields = fields


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "title", "due_date", "done_on", "note"]
        read_only_fields = fields


class ExpenseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Expense
        fields = [
            "id", "project", "line", "amount", "spent_on", "description", "status", "over_budget", "approval_reason",
            "recorded_by", "decided_by", "decided_at", "decision_note", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class LineInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    # Text, parsed by the service like the pages do: "12000", "１２０００", "12 000.50".
    amount = serializers.CharField(max_length=40)


class ProjectWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ProjectKind.choices)
    sponsor = serializers.CharField(max_length=100, required=False, allow_blank=True)
    manager = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    budget_lines = LineInputSerializer(many=True, required=False)


class ExpenseWriteSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    amount = serializers.CharField(max_length=40)
    spent_on = serializers.DateField()
    description = serializers.CharField(max_length=200)
    approval_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ExpenseDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ExpenseDecision.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class VersionNoteSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class MilestoneWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    due_date = serializers.DateField()


def _person(request, pk):
    """An account in the caller's subtree (home unit or assignment), else 400."""
    from django.db.models import Q

    grant = active_grant(request.user)
    prefix = grant.unit_path if grant else "\x00"
    row = (
        User.objects.filter(pk=pk)
        .filter(Q(unit__path__startswith=prefix) | Q(assignments__unit__path__startswith=prefix))
        .first()
    )
    if row is None:
        raise serializers.ValidationError({"manager": ["所选人员不存在或不在您的管理范围内。"]})
    return row


class ProjectViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """H-PROJ-1: projects in the caller's scope with budget and spent totals; ``?status=``, ``?kind=``, ``?q=``."""

    serializer_class = ProjectSerializer
    permission_map = {
        "list": VIEW, "retrieve": VIEW, "create": MANAGE, "summary": VIEW, "expenses": MANAGE,
        "milestones": MANAGE, "final_accounts": MANAGE, "accept": APPROVE,
    }  # fmt: skip

    def get_queryset(self):
        params = self.request.query_params
        return selectors.projects(
            self.request.user, status=params.get("status", ""), kind=params.get("kind", ""), q=params.get("q", "")
        )

    def _get(self, pk, perm):
        return access_by_id(selectors.with_money(Project.objects.all()), pk, self.request.user, perm)

    def _detail(self, project):
        project = selectors.with_money(Project.objects.filter(pk=project.pk)).get()
        data = ProjectSerializer(project).data
        data["lines"] = LineSerializer(list(selectors.lines_with_spent(project)), many=True).data
        data["milestones"] = MilestoneSerializer(project.milestones.all(), many=True).data
        return data

    def retrieve(self, request, pk=None):
        return Response(self._detail(self._get(pk, VIEW)))

    def create(self, request):
        data = validated(ProjectWriteSerializer, request)
        unit = access_by_id(OrgUnit.objects.all(), data.pop("unit"), request.user, MANAGE)
        manager = _person(request, data.pop("manager"))
        lines = [(line["name"], line["amount"]) for line in data.pop("budget_lines", [])]
        project = services.do_create_project(actor=request.user, unit=unit, manager=manager, budget_lines=lines, **data)
        return Response(self._detail(project), status=status.HTTP_201_CREATED)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def summary(self, request):
        """Counts by status and kind, budget and spending, for the caller's unit and below."""
        unit = OrgUnit.objects.get(pk=active_grant(request.user).unit_id)
        summary = selectors.project_summary(unit)
        return Response({**summary, **{k: str(summary[k]) for k in ("budget_total", "spent_total", "remaining")}})

    @action(detail=True, methods=["post"], serializer_class=ExpenseWriteSerializer)
    def expenses(self, request, pk=None):
        project = self._get(pk, MANAGE)
        data = validated(ExpenseWriteSerializer, request)
        line = access_by_id(BudgetLine.objects.all(), data.pop("line"), request.user, MANAGE)
        expense = services.do_record_expense(actor=request.user, project=project, line=line, **data)
        return Response(ExpenseSerializer(expense).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], serializer_class=MilestoneWriteSerializer)
    def milestones(self, request, pk=None):
        project = self._get(pk, MANAGE)
        milestone = services.do_add_milestone(
            actor=request.user, project=project, **validated(MilestoneWriteSerializer, request)
        )
        return Response(MilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], url_path="final-accounts", serializer_class=VersionNoteSerializer)
    def final_accounts(self, request, pk=None):
        project = self._get(pk, MANAGE)
        project = services.do_draw_final_accounts(
            actor=request.user, project=project, **validated(VersionNoteSerializer, request)
        )
        return Response(self._detail(project))

    @action(detail=True, methods=["post"], serializer_class=VersionNoteSerializer)
    def accept(self, request, pk=None):
        project = self._get(pk, APPROVE)
        data = validated(VersionNoteSerializer, request)
        project = services.do_accept_project(
            actor=request.user, project=project, version=data["version"], note=data.get("note", "")
        )
        return Response(self._detail(project))


class ExpenseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """H-PROJ-1: expenses in scope; ``?project=`` filters one project; ``?status=pending`` those awaiting approval."""

    serializer_class = ExpenseSerializer
    permission_map = {"list": VIEW, "retrieve": VIEW, "decide": APPROVE}

    @action(detail=True, methods=["post"], serializer_class=ExpenseDecisionSerializer)
    def decide(self, request, pk=None):
        """Four eyes: approve or reject a pending over-budget expense (never one you recorded yourself)."""
        expense = access_by_id(Expense.objects.all(), pk, request.user, APPROVE)
        expense = services.do_decide_expense(
            actor=request.user, expense=expense, **validated(ExpenseDecisionSerializer, request)
        )
        return Response(ExpenseSerializer(expense).data)

    def get_queryset(self):
        rows = selectors.expenses(self.request.user)
        project = self.request.query_params.get("project", "")
        state = self.request.query_params.get("status", "")
        if state in ExpenseStatus.values:
            rows = rows.filter(status=state)
        return rows.filter(project_id=int(project)) if project.isdigit() else rows


ROUTES = [
    ("projects/projects", ProjectViewSet, "projects-project"),
    ("projects/expenses", ExpenseViewSet, "projects-expense"),
]
