from django import forms

from .services import REASON_MIN


class ExportRequestForm(forms.Form):
    reason = forms.CharField(
        label="导出理由",
        max_length=500,
        min_length=REASON_MIN,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="例如：向区卫健局报送 2026 年第三季度人员名单。理由与导出记录一并存入审计日志。",
    )
