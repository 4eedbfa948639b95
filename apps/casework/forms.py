from django import forms

from apps.accounts.models import User

from .choices import CaseState, ConsentKind, Decision, DisorderJudgement, GivenBy, OverrideGround, Requester, Severity

_select = {"class": "form-select"}
_text = {"rows": 3}


class CounsellorField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name or obj.username


def crisis_ground_field():
    """The crisis exception of S-CLIENT-4: a minor's service started without a guardian's consent."""
    return forms.ChoiceField(
        label="危机例外依据",
        choices=[("", "—（无）"), *OverrideGround.choices],
        required=False,
        help_text="仅当未成年来访者存在危机情形、来不及取得监护人同意时选择，并在原因中说明；事后应尽快告知监护人",
    )


class OpenCaseForm(forms.Form):
    client = forms.IntegerField(label="来访者编号", min_value=1)
    counsellor = CounsellorField(label="咨询师", queryset=User.objects.none(), required=False)
    requested_by = forms.ChoiceField(label="提出人", choices=Requester.choices, initial=Requester.CLIENT)
    reason = forms.CharField(label="申请原因", max_length=1000, required=False, widget=forms.Textarea(attrs=_text))
    crisis_ground = crisis_ground_field()

    def __init__(self, *args, counsellors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counsellor"].queryset = counsellors if counsellors is not None else User.objects.none()


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(label="变更为", choices=CaseState.choices)
    requested_by = forms.ChoiceField(label="提出人", choices=Requester.choices)
    reason = forms.CharField(label="原因", max_length=1000, required=False, widget=forms.Textarea(attrs=_text))
    crisis_ground = crisis_ground_field()

    def __init__(self, *args, states=None, **kwargs):
        super().__init__(*args, **kwargs)
        if states is not None:
            self.fields["to_state"].choices = [(s, CaseState(s).label) for s in CaseState.values if s in states]


class CounsellorChangeForm(forms.Form):
    counsellor = CounsellorField(label="咨询师", queryset=User.objects.none())
    reason = forms.CharField(label="原因", max_length=1000, widget=forms.Textarea(attrs=_text))
    client_informed = forms.BooleanField(label="已告知来访者更换咨询师", required=False)

    def __init__(self, *args, counsellors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counsellor"].queryset = counsellors if counsellors is not None else User.objects.none()


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(label="类别", choices=[c for c in ConsentKind.choices if c[0] != ConsentKind.RECORDING])
    given_by = forms.ChoiceField(label="同意人", choices=GivenBy.choices)
    notice_version = forms.CharField(label="告知书版本", max_length=20, required=False)
    given_at = forms.DateTimeField(label="同意时间", required=False, help_text="留空为现在；格式：2026-05-01 14:30")


class OverrideForm(forms.Form):
    ground = forms.ChoiceField(label="依据", choices=OverrideGround.choices, widget=forms.Select(attrs=_select))
    justification = forms.CharField(label="理由说明", max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class SessionForm(forms.Form):
    happened_at = forms.DateTimeField(label="咨询时间", help_text="格式：2026-05-01 14:30")
    duration_minutes = forms.IntegerField(label="时长（分钟）", min_value=1, max_value=600, initial=50)
    notes = forms.CharField(label="咨询记录", required=False, widget=forms.Textarea(attrs={"rows": 6}))
    problem_focus = forms.CharField(label="问题焦点评估", required=False, widget=forms.Textarea(attrs=_text))
    framework = forms.CharField(label="咨询框架", required=False, widget=forms.Textarea(attrs=_text))
    severe_disorder_judgement = forms.ChoiceField(label="是否存在严重精神障碍", choices=DisorderJudgement.choices)
    diagnosis = forms.CharField(
        label="初步诊断", required=False, widget=forms.Textarea(attrs=_text), help_text="仅精神科医生填写"
    )
    severity = forms.ChoiceField(label="严重程度", choices=[("", "—"), *Severity.choices], required=False)
    expected_effect = forms.CharField(label="预期效果", max_length=200, required=False)
    suitable_to_continue = forms.BooleanField(label="适合继续咨询", required=False, initial=True)
    decision = forms.ChoiceField(label="处理决定", choices=Decision.choices)
    recording_consent = forms.BooleanField(label="本次咨询已取得录音录像同意", required=False)
    recording_given_by = forms.ChoiceField(label="录音录像同意人", choices=GivenBy.choices, required=False)

    def __init__(self, *args, can_diagnose=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_diagnose:
            del self.fields["diagnosis"]


class ReceptionForm(forms.Form):
    client = forms.IntegerField(label="来访者编号", min_value=1)
    received_at = forms.DateTimeField(label="接待时间", required=False, help_text="留空为现在")
    reason = forms.CharField(label="自述症状（咨询原因）", required=False, widget=forms.Textarea(attrs=_text))
    history = forms.CharField(label="咨询或用药史", required=False, widget=forms.Textarea(attrs=_text))
    preliminary_analysis = forms.CharField(label="初步诊断分析", required=False, widget=forms.Textarea(attrs=_text))
    counselling_effect = forms.CharField(label="咨询效果", required=False, widget=forms.Textarea(attrs=_text))
    next_step_plan = forms.CharField(label="下一步计划", required=False, widget=forms.Textarea(attrs=_text))
    told_flow_rights = forms.BooleanField(label="已告知服务流程、权利与注意事项", required=False)
    crisis = forms.BooleanField(label="接待中出现危机（按应急预案处置）", required=False)
    crisis_action = forms.CharField(label="危机处置", required=False, widget=forms.Textarea(attrs=_text))


class OpenFromReceptionForm(forms.Form):
    counsellor = CounsellorField(label="咨询师", queryset=User.objects.none(), required=False)
    requested_by = forms.ChoiceField(label="提出人", choices=Requester.choices, initial=Requester.CLIENT)

    def __init__(self, *args, counsellors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counsellor"].queryset = counsellors if counsellors is not None else User.objects.none()
