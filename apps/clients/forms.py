from django import forms

from apps.orgs.models import OrgUnit

from .choices import ConsentMethod, Education, EmergencyReason, Gender, PoliticalStatus
from .models import ServiceTargetCategory

# 18 characters plus the spaces a pasted number may carry ("330106 19800101 0312"); they are dropped
# before validation (apps.identity.resident_id).
ID_INPUT_LENGTH = 24
_select = {"class": "form-select"}


class ClientForm(forms.Form):
    """The identity part of the registration form (Appendix C); optional fields stay optional (S-PRIN-6)."""

    unit = forms.ModelChoiceField(label="所属单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(
        label="身份证号码",
        max_length=ID_INPUT_LENGTH,
        required=False,
        help_text="填写后自动得出出生日期和性别；可带空格",
    )
    gender = forms.ChoiceField(label="性别", choices=Gender.choices, initial=Gender.UNKNOWN)
    birth_date = forms.DateField(label="出生日期", required=False, help_text="格式：2001-05-01")
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    address = forms.CharField(label="住址", max_length=200, required=False)
    employer = forms.CharField(label="工作单位", max_length=100, required=False)
    ethnicity = forms.CharField(label="民族", max_length=20, required=False)
    native_place = forms.CharField(label="籍贯", max_length=50, required=False)
    education = forms.ChoiceField(label="文化程度", choices=[("", "—")] + Education.choices, required=False)
    political_status = forms.ChoiceField(
        label="政治面貌", choices=[("", "—")] + PoliticalStatus.choices, required=False
    )
    religion = forms.CharField(label="宗教信仰", max_length=20, required=False)
    categories = forms.ModelMultipleChoiceField(
        label="服务对象类别",
        queryset=ServiceTargetCategory.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    guardian_name = forms.CharField(label="监护人姓名", max_length=50, required=False, help_text="未满 14 周岁必填")
    guardian_relationship = forms.CharField(label="监护人与来访者关系", max_length=20, required=False)
    guardian_phone = forms.CharField(label="监护人电话", max_length=20, required=False)
    guardian_consent = forms.BooleanField(label="监护人已阅读告知书并同意登记", required=False)
    confirm_new = forms.BooleanField(label="已核对疑似重复记录，确认是不同的人，仍然登记", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    GUARDIAN_FIELDS = ("guardian_name", "guardian_relationship", "guardian_phone", "guardian_consent")

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"


class TransferForm(forms.Form):
    """The receiving unit is named by its code: units outside the user's subtree are never listed."""

    to_unit_code = forms.CharField(label="接收单位编码", max_length=32, help_text="请向接收单位索取其单位编码")
    reason = forms.CharField(label="移交原因", max_length=200)
    handover_notes = forms.CharField(label="交接说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class MergeForm(forms.Form):
    duplicate = forms.IntegerField(label="重复记录的来访者编号", min_value=1)
    reason = forms.CharField(label="合并原因", max_length=200)


class EmergencyForm(forms.Form):
    identifier = forms.CharField(label="身份证号码或手机号码", max_length=20)
    reason = forms.ChoiceField(label="事由类别", choices=EmergencyReason.choices, widget=forms.Select(attrs=_select))
    reason_text = forms.CharField(label="事由说明", max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class GuardianChangeForm(forms.Form):
    """A guardian's details (S-CLIENT-4); another person taking over is an end plus a new guardian."""

    name = forms.CharField(label="监护人姓名", max_length=50)
    relationship = forms.CharField(label="与来访者关系", max_length=20, help_text="如：父亲、母亲、祖母、法定监护人")
    phone = forms.CharField(label="监护人电话", max_length=20)


class GuardianForm(GuardianChangeForm):
    """A new guardian with their consent: who (the guardian), when and how it was given."""

    consent_method = forms.ChoiceField(
        label="同意方式",
        choices=[("", "—"), *ConsentMethod.choices],
        required=False,
        widget=forms.Select(attrs=_select),
    )
    consent_given_at = forms.DateTimeField(
        label="同意时间", required=False, help_text="留空为现在；格式：2026-05-01 14:30"
    )
    consent = forms.BooleanField(label="监护人已阅读告知书，并同意作为监护人代来访者表示同意和提出申请", required=False)


class GuardianEndForm(forms.Form):
    reason = forms.CharField(
        label="终止原因", max_length=200, required=False, help_text="如：已满 18 周岁、监护关系变更、由其他监护人代理"
    )
