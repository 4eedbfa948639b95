from django import forms

from .choices import UnitKind
from .models import OrgUnit
from .services import CODE_MAX, NAME_MAX


class UnitCreateForm(forms.Form):
    kind = forms.ChoiceField(label="单位类型", choices=UnitKind.choices)
    name = forms.CharField(label="单位名称", max_length=NAME_MAX)
    code = forms.CharField(label="单位编码", max_length=CODE_MAX, help_text="字母、数字、连字符或下划线，全平台唯一")


class UnitRenameForm(forms.Form):
    name = forms.CharField(label="单位名称", max_length=NAME_MAX)
    code = forms.CharField(label="单位编码", max_length=CODE_MAX)
    version = forms.IntegerField(widget=forms.HiddenInput)


class UnitMoveForm(forms.Form):
    new_parent = forms.ModelChoiceField(label="新的上级单位", queryset=OrgUnit.objects.none())
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        if targets is not None:
            self.fields["new_parent"].queryset = targets
        self.fields["new_parent"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}（{u.code}）"


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
