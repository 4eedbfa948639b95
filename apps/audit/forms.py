from django import forms

from .choices import AuditAction, AuditOutcome


class AuditFilterForm(forms.Form):
    user = forms.CharField(label="登录名", max_length=150, required=False)
    action = forms.ChoiceField(label="动作", choices=[("", "全部动作"), *AuditAction.choices], required=False)
    outcome = forms.ChoiceField(label="结果", choices=[("", "全部结果"), *AuditOutcome.choices], required=False)
    object_type = forms.CharField(label="对象类型", max_length=100, required=False)
    object_id = forms.CharField(label="对象编号", max_length=64, required=False)
    date_from = forms.DateField(label="起始日期", required=False)
    date_to = forms.DateField(label="截止日期", required=False)

    def clean(self):
        data = super().clean()
        for key in ("user", "object_type", "object_id"):
            if key in data:
                data[key] = (data[key] or "").strip()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError("截止日期不能早于起始日期。", code="date_order")
        return data

    def describe(self) -> str:
        """The active filters in words, for the export's audit entry."""
        if not self.is_valid():
            return ""
        parts = []
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if value:
                if isinstance(field, forms.ChoiceField):
                    value = dict(field.choices).get(value, value)
                parts.append(f"{field.label}={value}")
        return "；".join(parts)


class ExportForm(forms.Form):
    format = forms.ChoiceField(label="格式", choices=[("xlsx", "Excel"), ("csv", "CSV")])
    purpose = forms.CharField(label="导出用途", max_length=500, required=False)
