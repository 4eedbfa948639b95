"""Forms parse input only; the rules (date range, duplicates, name length, day count) live in services."""

from django import forms
from django.utils import timezone

from .choices import DeadlineKind
from .services import NAME_MAX, NOTE_MAX

DATE_ERRORS = {"required": "请填写日期。", "invalid": "请填写有效的日期，格式为 YYYY-MM-DD。"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class OverrideForm(forms.Form):
    date = forms.DateField(label="日期", widget=DateInput, error_messages=DATE_ERRORS)
    is_workday = forms.TypedChoiceField(
        label="这一天",
        choices=[("0", "放假（休）"), ("1", "上班（班，调休）")],
        coerce=lambda value: value == "1",
        error_messages={"required": "请选择放假或上班。", "invalid_choice": "请选择放假或上班。"},
    )
    name = forms.CharField(label="名称", required=False, help_text=f"如“春节”“春节调休”，不超过 {NAME_MAX} 个字")
    note = forms.CharField(label="备注", required=False, help_text=f"可填通知文号，不超过 {NOTE_MAX} 个字")


class NoticeForm(forms.Form):
    text = forms.CharField(label="放假安排", strip=False, required=False, widget=forms.Textarea(attrs={"rows": 14}))


class DeadlineForm(forms.Form):
    start = forms.DateField(label="起算日（收到之日）", widget=DateInput, error_messages=DATE_ERRORS)
    days = forms.IntegerField(
        label="期限（天）", error_messages={"required": "请填写天数。", "invalid": "天数须为整数。"}
    )
    kind = forms.ChoiceField(
        label="计算方式", choices=DeadlineKind.choices, error_messages={"invalid_choice": "请选择工作日或自然日。"}
    )

    @staticmethod
    def defaults() -> dict:
        return {"start": timezone.localdate(), "days": 3, "kind": DeadlineKind.WORKING}
