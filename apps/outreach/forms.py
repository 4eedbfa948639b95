from django import forms

from apps.orgs.models import OrgUnit

from .choices import Channel, InterventionKind, VisitKind
from .services import OUTCOME_STATUSES

_select = {"class": "form-select"}
_moment = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_text = {"rows": 4}


class InquiryForm(forms.Form):
    unit = forms.ModelChoiceField(label="受理单位", queryset=OrgUnit.objects.none())
    channel = forms.ChoiceField(label="渠道", choices=Channel.choices, widget=forms.Select(attrs=_select))
    received_at = forms.DateTimeField(label="收到时间", widget=_moment)
    contact_name = forms.CharField(label="联系人", max_length=50, required=False)
    contact_phone = forms.CharField(label="联系电话", max_length=20, required=False)
    client_id = forms.IntegerField(label="来访者编号", required=False, help_text="已登记的来访者可填写编号")
    question = forms.CharField(label="咨询内容", max_length=5000, widget=forms.Textarea(attrs=_text))
    answer = forms.CharField(
        label="当场回复",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs=_text),
        help_text="当场已答复的填写回复内容；留空则须在三个工作日内回复",
    )

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"


class AnswerForm(forms.Form):
    answer = forms.CharField(label="回复内容", max_length=5000, widget=forms.Textarea(attrs=_text))


class VisitPlanForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=VisitKind.choices, widget=forms.Select(attrs=_select))
    planned_for = forms.DateField(label="计划日期", widget=_date)
    interval_days = forms.IntegerField(
        label="周期（天）", required=False, min_value=1, max_value=366, help_text="定期上门填写，完成后自动安排下一次"
    )
    staff = forms.ModelMultipleChoiceField(
        label="上门人员", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    preparation_notes = forms.CharField(
        label="准备工作", max_length=5000, required=False, widget=forms.Textarea(attrs=_text)
    )
    case_id = forms.IntegerField(label="个案编号", required=False)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff
        self.fields["staff"].label_from_instance = lambda u: u.full_name


class VisitRecordForm(forms.Form):
    visited_at = forms.DateTimeField(label="上门时间", widget=_moment)
    staff = forms.ModelMultipleChoiceField(
        label="上门人员", queryset=None, widget=forms.CheckboxSelectMultiple, help_text="至少两名工作人员"
    )
    family_present = forms.CharField(
        label="在场家属或监护人", max_length=100, help_text="姓名及与来访者的关系，如：王芳（母亲）"
    )
    record = forms.CharField(label="上门记录", max_length=10000, widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff
        self.fields["staff"].label_from_instance = lambda u: u.full_name


class CancelForm(forms.Form):
    reason = forms.CharField(label="取消原因", max_length=200)


class InterventionForm(forms.Form):
    kind = forms.ChoiceField(label="干预方式", choices=InterventionKind.choices, widget=forms.Select(attrs=_select))
    happened_at = forms.DateTimeField(label="时间", widget=_moment)
    description = forms.CharField(label="情况说明", max_length=10000, widget=forms.Textarea(attrs=_text))
    case_id = forms.IntegerField(label="个案编号", required=False)


class ReferralForm(forms.Form):
    institution = forms.CharField(label="接收机构", max_length=100)
    referred_on = forms.DateField(label="转介日期", widget=_date)
    reason = forms.CharField(label="转介原因", max_length=5000, widget=forms.Textarea(attrs=_text))
    materials = forms.CharField(
        label="移交材料", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="每行一项"
    )
    consent_reference = forms.CharField(
        label="同意记录或法定依据",
        max_length=200,
        help_text="来访者（或监护人）的书面同意记录编号；没有同意时写明法律依据。将自动记入信息提供登记",
    )
    case_id = forms.IntegerField(label="个案编号", required=False)


class OutcomeForm(forms.Form):
    status = forms.ChoiceField(
        label="结果状态", choices=[(s.value, s.label) for s in OUTCOME_STATUSES], widget=forms.Select(attrs=_select)
    )
    outcome = forms.CharField(label="转介结果", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class DisclosureForm(forms.Form):
    recipient = forms.CharField(label="接收方", max_length=100)
    what = forms.CharField(label="提供的信息", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    legal_basis = forms.CharField(label="依据", max_length=200, help_text="同意记录编号或法律依据")
    disclosed_at = forms.DateTimeField(label="提供时间", widget=_moment)
