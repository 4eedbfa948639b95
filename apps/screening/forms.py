from django import forms
from django.utils import timezone

from apps.clients.choices import Gender
from apps.clients.models import ServiceTargetCategory
from apps.orgs.models import OrgUnit

from .choices import RiskLevel, ScreeningSource

ID_INPUT_LENGTH = 24  # 18 characters plus spaces of a pasted number; dropped before validation


def _unit_field(form, units):
    form.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
    form.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"


class ScreeningForm(forms.Form):
    """One person found in screening: who (registered now if new) and what was found."""

    unit = forms.ModelChoiceField(label="排查单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(
        label="身份证号码",
        max_length=ID_INPUT_LENGTH,
        required=False,
        help_text="填写后自动得出出生日期和性别；可带空格",
    )
    gender = forms.ChoiceField(label="性别", choices=Gender.choices, initial=Gender.UNKNOWN)
    birth_date = forms.DateField(label="出生日期", required=False, help_text="格式：1980-05-01")
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    address = forms.CharField(label="住址", max_length=200, required=False)
    categories = forms.ModelMultipleChoiceField(
        label="服务对象类别",
        queryset=ServiceTargetCategory.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    screened_on = forms.DateField(label="排查日期", initial=timezone.localdate, help_text="格式：2026-03-15")
    source = forms.ChoiceField(label="来源", choices=ScreeningSource.choices, initial=ScreeningSource.ROUTINE)
    risk_level = forms.ChoiceField(label="风险等级", choices=RiskLevel.choices, initial=RiskLevel.LOW)
    finding = forms.CharField(
        label="发现情况", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    guardian_name = forms.CharField(
        label="监护人姓名", max_length=50, required=False, help_text="未满 14 周岁的新登记人员必填"
    )
    guardian_relationship = forms.CharField(label="监护人与被排查人关系", max_length=20, required=False)
    guardian_phone = forms.CharField(label="监护人电话", max_length=20, required=False)
    guardian_consent = forms.BooleanField(label="监护人已阅读告知书并同意登记", required=False)
    confirm_new = forms.BooleanField(label="确认是不同的人，仍然登记为新来访者", required=False)

    GUARDIAN_FIELDS = ("guardian_name", "guardian_relationship", "guardian_phone", "guardian_consent")

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        _unit_field(self, units)


class UploadForm(forms.Form):
    unit = forms.ModelChoiceField(label="导入到单位", queryset=OrgUnit.objects.none())
    file = forms.FileField(label="排查表（.xlsx）", help_text="请用模板填写；不超过 20 MB、100,000 行。")

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        _unit_field(self, units)
        self.fields["file"].widget.attrs["accept"] = ".xlsx"
