from django import forms

_control = {"class": "form-control"}
_select = {"class": "form-select"}


class ExpressionForm(forms.Form):
    unit = forms.TypedChoiceField(label="适用单位（含下级单位）", coerce=int, choices=())
    phrase = forms.CharField(
        label="危机表述", max_length=60, widget=forms.TextInput(attrs=_control),
        help_text="填写普通文字（不支持通配符或正则表达式）；比对时忽略空格、标点与全角半角差别。",
    )  # fmt: skip

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u.pk, u.name) for u in units]
        self.fields["unit"].widget.attrs.update(_select)


class HandlerForm(forms.Form):
    handler = forms.TypedChoiceField(
        label="危机处置负责人", coerce=int, required=False, empty_value=None, choices=(),
        help_text="不指定时，危机表述提示发给本单位负责人。",
    )  # fmt: skip

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = [
            ("", "（不指定，通知单位负责人）"),
            *[(u.pk, u.full_name) for u in candidates],
        ]
        self.fields["handler"].widget.attrs.update(_select)
