from django import forms

from apps.core.money import AmountField
from apps.membership.selectors import label_people
from apps.orgs.models import OrgUnit

from .choices import ExpenseDecision, ProjectKind, QualityResult, ReportRecipient
from .services import LINES_FIELD

_select = {"class": "form-select"}
_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_text = {"rows": 4}


def _person(label, queryset, required=True):
    field = forms.ModelChoiceField(label=label, queryset=queryset, required=required)
    field.label_from_instance = lambda u: u.full_name
    return field


class ProjectForm(forms.Form):
    unit = forms.ModelChoiceField(label="承办部门", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="项目名称", max_length=100)
    kind = forms.ChoiceField(label="项目类别", choices=ProjectKind.choices, widget=forms.Select(attrs=_select))
    sponsor = forms.CharField(label="主办方/委托方", max_length=100, required=False, help_text="自主项目可不填")
    manager = forms.ModelChoiceField(label="项目负责人", queryset=None)
    start_date = forms.DateField(label="开始日期", widget=_date)
    end_date = forms.DateField(label="结束日期", widget=_date)
    description = forms.CharField(label="项目简介", max_length=5000, required=False, widget=forms.Textarea(attrs=_text))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, units=None, people=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"
        self.fields["manager"].queryset = people
        label_people(self.fields["manager"])
        if editing:
            for name in ("unit", "kind"):
                del self.fields[name]


class BudgetRowForm(forms.Form):
    """One row of the budget table: a line's name and amount (full-width digits accepted)."""

    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label="预算科目", max_length=50, required=False)
    amount = AmountField(label="预算金额（元）", allow_zero=True, required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("name") and data.get("amount") is None and not data.get("DELETE"):
            self.add_error("amount", "请填写预算金额。")
        if data.get("amount") is not None and not data.get("name") and not data.get("DELETE"):
            self.add_error("name", "请填写预算科目名称。")
        return data

    def row(self) -> dict:
        data = self.cleaned_data
        return {"id": data.get("id"), "name": data.get("name", ""), "amount": data.get("amount"),
                "delete": bool(data.get("DELETE"))}  # fmt: skip


class BaseBudgetFormSet(forms.BaseFormSet):
    """The budget table; rows are checked again, all together, by ``services.check_lines``."""

    def clean(self):
        """Mark repeated names even when another row has a bad amount, so every row error shows at once."""
        seen = {}
        for index, form in enumerate(self.forms):
            name = (form.cleaned_data.get("name") or "").strip() if hasattr(form, "cleaned_data") else ""
            if not name or form.cleaned_data.get("DELETE"):
                continue
            if name in seen and "name" not in form.errors:
                form.add_error("name", f"预算科目“{name}”与第 {seen[name] + 1} 行重复。")
            seen.setdefault(name, index)

    def rows(self) -> list[dict]:
        return [form.row() for form in self.forms]


BudgetFormSet = forms.formset_factory(
    BudgetRowForm, formset=BaseBudgetFormSet, extra=3, can_delete=True, max_num=50, validate_max=True
)


def budget_formset(data=None, *, lines=()):
    """The budget table of the project form: the existing ``lines`` plus three blank rows."""
    initial = [{"id": line.pk, "name": line.name, "amount": line.amount} for line in lines]
    return BudgetFormSet(data, initial=initial, prefix=LINES_FIELD)


class AdvanceForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class BudgetLineForm(forms.Form):
    name = forms.CharField(label="预算科目", max_length=50)
    amount = AmountField(label="预算金额（元）", allow_zero=True)


class ExpenseForm(forms.Form):
    line = forms.ModelChoiceField(label="预算科目", queryset=None)
    amount = AmountField(label="金额（元）", help_text="可用全角数字，如 １２００ 或 1 200.50")
    spent_on = forms.DateField(label="支出日期", widget=_date)
    description = forms.CharField(label="用途", max_length=200)
    approval_reason = forms.CharField(
        label="超预算理由", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="超出科目可用预算的支出登记为“待审批”，由登记人以外有审批权限的人员批准后才计入支出",
    )  # fmt: skip

    def __init__(self, *args, lines=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = lines


class ExpenseDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="审批决定", choices=[("", "请选择"), *ExpenseDecision.choices], widget=forms.Select(attrs=_select)
    )
    note = forms.CharField(
        label="审批意见", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="驳回时必须填写理由",
    )  # fmt: skip


class MilestoneForm(forms.Form):
    title = forms.CharField(label="节点名称", max_length=100)
    due_date = forms.DateField(label="计划完成日期", widget=_date)


class MilestoneDoneForm(forms.Form):
    done_on = forms.DateField(label="完成日期", widget=_date)
    note = forms.CharField(label="进展说明", max_length=500, required=False)


class ReportScheduleForm(forms.Form):
    recipient = forms.ChoiceField(label="报送对象", choices=ReportRecipient.choices, widget=forms.Select(attrs=_select))
    period = forms.CharField(label="报告期", max_length=50, help_text="如：2026 年第三季度")
    due_date = forms.DateField(label="报送期限", widget=_date)


class ReportSubmitForm(forms.Form):
    content = forms.CharField(label="报告内容", max_length=20000, widget=forms.Textarea(attrs={"rows": 10}))


class QualityCheckForm(forms.Form):
    checked_on = forms.DateField(label="检查日期", widget=_date)
    checker = forms.ModelChoiceField(label="检查人", queryset=None)
    result = forms.ChoiceField(label="结论", choices=QualityResult.choices, widget=forms.Select(attrs=_select))
    findings = forms.CharField(label="检查发现", max_length=5000, widget=forms.Textarea(attrs=_text))

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checker"].queryset = people
        label_people(self.fields["checker"])


class DocumentForm(forms.Form):
    title = forms.CharField(label="标题", max_length=100)
    upload = forms.FileField(label="文件", help_text="PDF、Word、Excel、PowerPoint、图片、文本或 ZIP，不超过 20 MB")


class FinalAccountsForm(forms.Form):
    note = forms.CharField(label="决算说明", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class AcceptForm(forms.Form):
    note = forms.CharField(label="验收意见", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput)
