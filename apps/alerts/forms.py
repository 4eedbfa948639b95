from django import forms
from django.utils import timezone

from .choices import WARNING_COLOURS, BandLevel, Colour, ContactKind, ControlMeasure

_select = {"class": "form-select"}
_moment = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_text = {"rows": 3}
COLOUR_CHOICES = [(int(c), Colour(c).label) for c in WARNING_COLOURS]


def result_label(result) -> str:
    """An assessment result as a choice: its local (Beijing) date — not the UTC one — scale and score."""
    day = timezone.localtime(result.administered_at)
    return f"{day:%Y-%m-%d} {result.scale_version.scale.code} {result.score} 分（{result.band_label}）"


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class TagForm(forms.Form):
    proposed_colour = forms.TypedChoiceField(
        label="建议颜色", choices=COLOUR_CHOICES, coerce=int, widget=forms.Select(attrs=_select)
    )
    reason = forms.CharField(label="标记原因", max_length=2000, widget=forms.Textarea(attrs=_text))


class SetColourForm(VersionForm):
    result = forms.TypedChoiceField(label="定色依据（测评结果）", coerce=int, choices=())
    counsellor = forms.TypedChoiceField(label="负责咨询师", coerce=int, choices=())
    colour = forms.TypedChoiceField(
        label="预警颜色", required=False, coerce=int, empty_value=None,
        choices=[("", "按测评结果对应的颜色"), *COLOUR_CHOICES], widget=forms.Select(attrs=_select),
    )  # fmt: skip
    reason = forms.CharField(
        label="说明", max_length=2000, required=False, widget=forms.Textarea(attrs=_text),
        help_text="所选颜色与测评结果对应的颜色不同时必填",
    )  # fmt: skip

    def __init__(self, *args, results=(), counsellors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].choices = [(r.pk, result_label(r)) for r in results]
        self.fields["result"].widget.attrs.update(_select)
        self.fields["counsellor"].choices = [(u.pk, u.full_name) for u in counsellors]
        self.fields["counsellor"].widget.attrs.update(_select)


class FeedbackForm(VersionForm):
    note = forms.CharField(label="反馈说明", max_length=2000, required=False, widget=forms.Textarea(attrs=_text))


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label="联系方式", choices=ContactKind.choices, widget=forms.Select(attrs=_select))
    happened_at = forms.DateTimeField(label="联系时间", widget=_moment)
    note = forms.CharField(label="情况记录", max_length=2000, widget=forms.Textarea(attrs=_text))


class ChangeColourForm(VersionForm):
    colour = forms.TypedChoiceField(
        label="新颜色", choices=COLOUR_CHOICES, coerce=int, widget=forms.Select(attrs=_select)
    )
    result = forms.TypedChoiceField(label="依据的测评结果", coerce=int, required=False, empty_value=None, choices=())
    reason = forms.CharField(label="调整原因", max_length=2000, widget=forms.Textarea(attrs=_text))

    def __init__(self, *args, results=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].choices = [("", "（不另选）")] + [(r.pk, result_label(r)) for r in results]
        self.fields["result"].widget.attrs.update(_select)


class ReasonForm(VersionForm):
    reason = forms.CharField(label="理由", max_length=2000, widget=forms.Textarea(attrs=_text))


class ControlForm(VersionForm):
    measures = forms.MultipleChoiceField(
        label="管控措施", choices=ControlMeasure.choices, widget=forms.CheckboxSelectMultiple
    )
    institution = forms.CharField(
        label="转送机构", max_length=100, required=False, help_text="选择“转送精神专科医疗机构”时必填"
    )
    reason = forms.CharField(label="转入理由", max_length=2000, widget=forms.Textarea(attrs=_text))


class ResponderForm(VersionForm):
    counsellor = forms.TypedChoiceField(label="新的负责咨询师", coerce=int, choices=())
    reason = forms.CharField(label="更换原因", max_length=2000, widget=forms.Textarea(attrs=_text))

    def __init__(self, *args, counsellors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counsellor"].choices = [(u.pk, u.full_name) for u in counsellors]
        self.fields["counsellor"].widget.attrs.update(_select)


class PolicyForm(forms.Form):
    red_cycle_days = forms.IntegerField(label="红色随访周期（天）", min_value=1, max_value=366)
    orange_cycle_days = forms.IntegerField(label="橙色随访周期（天）", min_value=1, max_value=366)
    yellow_cycle_days = forms.IntegerField(label="黄色随访周期（天）", min_value=1, max_value=366)
    feedback_days = forms.IntegerField(label="反馈期限（日历日）", min_value=1, max_value=30)
    review_cycles = forms.IntegerField(label="几个周期后评估", min_value=1, max_value=12)
    reassess_every = forms.IntegerField(label="每几个周期复评一次", min_value=1, max_value=12)
    unchanged_delta = forms.DecimalField(
        label="“分值基本不变”的最大变化", min_value=0, max_value=1000, decimal_places=2,
        help_text="两次评估分值之差的绝对值不超过此数，视为基本不变",
    )  # fmt: skip
    rules = forms.CharField(
        label="分值等级与颜色对应", required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=(
            "每行一条：量表编码（留空表示所有量表）,结果等级（none/mild/moderate/severe）,"
            "颜色（0 无、1 黄、2 橙、3 红）"
        ),
    )  # fmt: skip

    def clean_rules(self):
        rows = []
        for number, line in enumerate(self.cleaned_data["rules"].splitlines(), 1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 3 or parts[1] not in BandLevel.values or parts[2] not in {"0", "1", "2", "3"}:
                raise forms.ValidationError(f"第 {number} 行格式不对：应为“量表编码,结果等级,颜色”。")
            rows.append((parts[0], parts[1], int(parts[2])))
        return rows
