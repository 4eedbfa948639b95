from decimal import Decimal

from django import forms

from apps.clients.choices import Education, PoliticalStatus
from apps.core.money import AmountField
from apps.identity.phones import normalize_mobile
from apps.identity.resident_id import validate_resident_id

from .choices import (
    CertificateKind,
    ConductKind,
    DuesMethod,
    EthicsPrinciple,
    PositionKind,
    RevocationReason,
    Tier,
    VoteChoice,
)

DATE = forms.DateInput(attrs={"type": "date"})
CERT_SLOTS = 3
# The dues page shows the payment and the rate form together: prefixes keep their HTML ids apart.
PAYMENT_PREFIX = "pay"
RATE_PREFIX = "rate"


class ApplicationForm(forms.Form):
    """会员登记表 (H-MEM-1). Rules (ID checksum, mobile, photo, ≤ 2 committees) live in services."""

    charter_accepted = forms.BooleanField(label="我已认真阅读并认同《协会章程》，愿意履行会员义务", required=True)
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="身份证号码", max_length=20, help_text="出生日期与性别由身份证号自动识别")
    phone = forms.CharField(label="手机号码", max_length=20)
    email = forms.EmailField(label="电子邮箱", required=False)
    ethnicity = forms.CharField(label="民族", max_length=20, required=False)
    political_status = forms.ChoiceField(
        label="政治面貌", choices=[("", "—")] + list(PoliticalStatus.choices), required=False
    )
    education = forms.ChoiceField(label="学历", choices=[("", "—")] + list(Education.choices), required=False)
    major = forms.CharField(label="所学专业", max_length=50, required=False)
    employer = forms.CharField(label="工作单位", max_length=100, required=False)
    job_title = forms.CharField(label="职务/职称", max_length=50, required=False)
    address = forms.CharField(label="通讯地址", max_length=200, required=False)
    specialties = forms.CharField(label="擅长领域", max_length=200, required=False)
    experience = forms.CharField(label="心理学学习与助人经历", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    committees = forms.ModelMultipleChoiceField(
        label="意向专业委员会（最多选两个）",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    photo = forms.FileField(label="电子照片（JPG/PNG，不超过 2 MB，用于会员证）")

    def __init__(self, *args, committees=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committees"].queryset = committees
        for i in range(1, CERT_SLOTS + 1):
            self.fields[f"cert{i}_kind"] = forms.ChoiceField(
                label=f"资格证书 {i}：类别", choices=[("", "—")] + list(CertificateKind.choices), required=False
            )
            self.fields[f"cert{i}_number"] = forms.CharField(label="证书编号", max_length=50, required=False)
            self.fields[f"cert{i}_issuer"] = forms.CharField(label="发证机关", max_length=100, required=False)
            self.fields[f"cert{i}_issued_on"] = forms.DateField(label="发证日期", widget=DATE, required=False)
            self.fields[f"cert{i}_expires_on"] = forms.DateField(
                label="有效期至（长期有效可不填）", widget=DATE, required=False
            )
            self.fields[f"cert{i}_scan"] = forms.FileField(label="扫描件（PDF/JPG/PNG）", required=False)

    # Every field is checked here, with the services' own validators, so one submit shows every
    # mistake at once; the service checks again (H-MEM-1).

    def clean_id_number(self):
        return validate_resident_id(self.cleaned_data.get("id_number")).number

    def clean_phone(self):
        return normalize_mobile(self.cleaned_data.get("phone"))

    def clean_photo(self):
        from .storage import check_photo

        photo = self.cleaned_data.get("photo")
        check_photo(photo)
        return photo

    def clean_committees(self):
        from .services import MAX_COMMITTEES

        committees = self.cleaned_data.get("committees")
        if committees is not None and len(committees) > MAX_COMMITTEES:
            raise forms.ValidationError("每位会员最多参加两个专业委员会。", code="too_many_committees")
        return committees

    def clean(self):
        from django.core.exceptions import ValidationError

        from .services import check_certificate

        data = super().clean()
        fields_of = {
            "certificate_kind": "kind", "certificate_number": "number", "certificate_issuer": "issuer",
            "certificate_dates": "expires_on", "too_large": "scan", "format": "scan",
        }  # fmt: skip
        for i, cert in self._certificate_rows():
            try:
                check_certificate(cert)
            except ValidationError as error:
                name = f"cert{i}_{fields_of.get(error.code, 'kind')}"
                if name not in self.errors:
                    self.add_error(name, error)
        return data

    def _certificate_rows(self) -> list[tuple[int, dict]]:
        rows = []
        for i in range(1, CERT_SLOTS + 1):
            data = {
                k: self.cleaned_data.get(f"cert{i}_{k}")
                for k in ("kind", "number", "issuer", "issued_on", "expires_on", "scan")
            }
            if data["kind"] or data["number"] or data["issuer"]:
                rows.append((i, data))
        return rows

    def certificates(self) -> list[dict]:
        return [data for _, data in self._certificate_rows()]


class StatusForm(forms.Form):
    reference = forms.CharField(label="申请编号", max_length=30, help_text="不区分大小写")
    secret = forms.CharField(label="查询码", max_length=40, help_text="不区分大小写，短横线可省略")


class InitialPasswordForm(forms.Form):
    password = forms.CharField(label="设置登录密码", widget=forms.PasswordInput, max_length=128)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label="初审意见",
        choices=[("pass", "通过，提交理事会表决"), ("return", "退回，请申请人修改后重新提交"), ("reject", "不予通过")],
    )
    note = forms.CharField(
        label="意见说明（退回、不予通过时必填，将告知申请人）", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class BallotForm(forms.Form):
    choice = forms.ChoiceField(label="表决意见", choices=VoteChoice.choices, widget=forms.RadioSelect)


class SimplifiedForm(forms.Form):
    licence = forms.ModelChoiceField(label="依据的执业资格证书", queryset=None)

    def __init__(self, *args, certificates=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licence"].queryset = certificates


class CommitteeForm(forms.Form):
    committee = forms.ModelChoiceField(label="专业委员会", queryset=None)

    def __init__(self, *args, committees=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = committees


class CertificateForm(forms.Form):
    kind = forms.ChoiceField(label="证书类别", choices=CertificateKind.choices)
    number = forms.CharField(label="证书编号", max_length=50)
    issuer = forms.CharField(label="发证机关", max_length=100)
    issued_on = forms.DateField(label="发证日期", widget=DATE, required=False)
    expires_on = forms.DateField(label="有效期至", widget=DATE, required=False)
    scan = forms.FileField(label="扫描件", required=False)


class PhotoForm(forms.Form):
    photo = forms.FileField(label="电子照片")


class PaymentForm(forms.Form):
    member = forms.ModelChoiceField(label="会员", queryset=None)
    year = forms.IntegerField(label="会费年度")
    amount = AmountField(label="金额（元）", max_amount=Decimal("100000"))
    paid_on = forms.DateField(label="缴费日期", widget=DATE)
    method = forms.ChoiceField(label="缴费方式", choices=DuesMethod.choices)
    receipt_number = forms.CharField(label="收据编号", max_length=40)
    is_supplement = forms.BooleanField(label="补缴（该会员本年度已有缴费记录）", required=False)
    supplement_reason = forms.CharField(
        label="补缴原因", max_length=200, required=False, help_text="勾选补缴时必填，如：会员类别调整后补交差额"
    )

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["member"].label_from_instance = lambda m: f"{m.number} {m.name}"


class CloseVoteForm(forms.Form):
    """H-MEM-2: closing a vote is confirmed after reading the quorum and who has not voted."""

    confirm = forms.BooleanField(label="我已核对投票情况，确认结束表决并计票", required=True)


class RateForm(forms.Form):
    year = forms.IntegerField(label="年度")
    tier = forms.ChoiceField(label="会员类别", choices=Tier.choices)
    amount = AmountField(label="年会费（元）", allow_zero=True, max_amount=Decimal("100000"))


class VoteRulesForm(forms.Form):
    """H-MEM-2: the association's quorum for board votes, as its charter fixes it (default 2/3)."""

    vote_quorum_numerator = forms.IntegerField(label="法定人数（分子）", min_value=1, max_value=100)
    vote_quorum_denominator = forms.IntegerField(
        label="法定人数（分母）",
        min_value=1,
        max_value=100,
        help_text="应有表决权的理事中须有这一比例以上投票，表决方为有效；须超过半数。示范章程为 2/3。",
    )


class PositionForm(forms.Form):
    member = forms.ModelChoiceField(label="会员", queryset=None)
    kind = forms.ChoiceField(label="职务", choices=PositionKind.choices)
    unit = forms.ModelChoiceField(label="部门/专业委员会（部门与专委会职务必填）", queryset=None, required=False)
    term_start = forms.DateField(label="任期开始", widget=DATE)
    term_end = forms.DateField(label="任期届满", widget=DATE, required=False)
    filing_date = forms.DateField(label="登记管理机关备案日期（秘书长及以上）", widget=DATE, required=False)
    filing_number = forms.CharField(label="备案文号", max_length=50, required=False)

    def __init__(self, *args, members=None, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["member"].label_from_instance = lambda m: f"{m.number} {m.name}"
        self.fields["unit"].queryset = units


class FilingForm(forms.Form):
    filing_date = forms.DateField(label="备案日期", widget=DATE)
    filing_number = forms.CharField(label="备案文号", max_length=50)


class EndPositionForm(forms.Form):
    ended_on = forms.DateField(label="卸任日期", widget=DATE)


class ComplaintForm(forms.Form):
    member = forms.ModelChoiceField(label="被投诉会员", queryset=None)
    complainant = forms.CharField(label="投诉人", max_length=50)
    contact = forms.CharField(label="投诉人联系方式", max_length=50, required=False)
    principle = forms.ChoiceField(label="涉及伦理原则", choices=EthicsPrinciple.choices)
    description = forms.CharField(label="投诉内容", widget=forms.Textarea(attrs={"rows": 3}))
    received_on = forms.DateField(label="收到日期", widget=DATE)

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["member"].label_from_instance = lambda m: f"{m.number} {m.name}"


class DecideComplaintForm(forms.Form):
    upheld = forms.ChoiceField(label="结论", choices=[("yes", "投诉成立"), ("no", "投诉不成立")])
    decision = forms.CharField(label="处理结论", widget=forms.Textarea(attrs={"rows": 2}))


class ConductForm(forms.Form):
    kind = forms.ChoiceField(label="类别", choices=ConductKind.choices)
    title = forms.CharField(label="事项", max_length=100)
    detail = forms.CharField(label="说明", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    decided_on = forms.DateField(label="决定日期", widget=DATE)


class RevocationForm(forms.Form):
    body = forms.ModelChoiceField(label="表决机构", queryset=None)
    reason = forms.ChoiceField(label="撤销事由", choices=RevocationReason.choices)
    complaint = forms.ModelChoiceField(label="所依据的伦理投诉（以投诉为由时必选）", queryset=None, required=False)
    meeting_date = forms.DateField(label="表决日期", widget=DATE)
    resolution_number = forms.CharField(label="决议文号", max_length=50)
    votes_for = forms.IntegerField(label="同意票", min_value=0)
    votes_against = forms.IntegerField(label="反对票", min_value=0)
    votes_abstain = forms.IntegerField(label="弃权票", min_value=0)
    detail = forms.CharField(label="情况说明", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, bodies=None, complaints=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].queryset = bodies
        self.fields["complaint"].queryset = complaints
        self.fields["complaint"].label_from_instance = lambda c: f"#{c.pk} {c.get_principle_display()} {c.received_on}"
