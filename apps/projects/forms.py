from django import forms

from apps.membership.selectors import label_people
from apps.orgs.models import OrgUnit

from .choices import ProjectKind, QualityResult, ReportRecipient

_select = {"class": "form-select"}
_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_text = {"rows": 4}
_money = {"step": "0.01", "min": "0"}


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
    budget = forms.CharField(
        label="预算科目", required=False, widget=forms.Textarea(attrs=_text),
        help_text="每行一个科目：名称 金额，如“专家劳务费 12000”",
    )  # fmt: skip
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, units=None, people=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"
        self.fields["manager"].queryset = people
        label_people(self.fields["manager"])
        if editing:
            for name in ("unit", "kind", "budget"):
                del self.fields[name]

    def clean_budget(self):
        lines = []
        for number, raw in enumerate(self.cleaned_data.get("budget", "").splitlines(), start=1):
            raw = raw.strip()
            if not raw:
                continue
            name, _, amount = raw.rpartition(" ")
            if not name.strip():
                raise forms.ValidationError(f"第 {number} 行应为“科目名称 金额”。")
            lines.append((name.strip(), amount))
        return lines


class AdvanceForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class BudgetLineForm(forms.Form):
    name = forms.CharField(label="预算科目", max_length=50)
    amount = forms.DecimalField(label="预算金额（元）", max_digits=12, decimal_places=2, min_value=0)


class ExpenseForm(forms.Form):
    line = forms.ModelChoiceField(label="预算科目", queryset=None)
    amount = forms.DecimalField(
        label="金额（元）", max_digits=12, decimal_places=2, min_value=0, widget=forms.NumberInput(attrs=_money)
    )
    spent_on = forms.DateField(label="支出日期", widget=_date)
    description = forms.CharField(label="用途", max_length=200)
    approval_reason = forms.CharField(
        label="超预算理由", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="超出科目剩余预算的支出须由秘书处批准并填写理由",
    )  # fmt: skip

    def __init__(self, *args, lines=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = lines


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
