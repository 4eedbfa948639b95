from django import forms
from django.contrib.auth.forms import AuthenticationForm

from apps.orgs.models import OrgUnit

from .models import Role


def _unit_label(unit):
    return f"{'　' * unit.depth}{unit.name}"


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "登录名或密码不正确。",
        "inactive": "该账号已停用，请联系本单位管理员。",
    }


class UserCreateForm(forms.Form):
    username = forms.CharField(label="登录名", max_length=30)
    full_name = forms.CharField(label="姓名", max_length=50)
    unit = forms.ModelChoiceField(label="所属单位", queryset=OrgUnit.objects.none())
    mobile = forms.CharField(label="手机号码", max_length=20, required=False)
    email = forms.CharField(label="电子邮箱", max_length=254, required=False)
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput, max_length=128)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = _unit_label


class UserEditForm(forms.Form):
    full_name = forms.CharField(label="姓名", max_length=50)
    unit = forms.ModelChoiceField(label="所属单位", queryset=OrgUnit.objects.none())
    mobile = forms.CharField(label="手机号码", max_length=20, required=False)
    email = forms.CharField(label="电子邮箱", max_length=254, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = _unit_label


class AssignForm(forms.Form):
    unit = forms.ModelChoiceField(
        label="单位",
        queryset=OrgUnit.objects.none(),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    role = forms.ModelChoiceField(
        label="角色", queryset=Role.objects.all(), widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = _unit_label


class PasswordForm(forms.Form):
    password = forms.CharField(label="新密码", widget=forms.PasswordInput, max_length=128)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="验证码", max_length=12, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )


class ReauthForm(forms.Form):
    password = forms.CharField(label="登录密码", widget=forms.PasswordInput, max_length=128)
    code = forms.CharField(label="验证码或恢复码（已启用双因素认证时）", max_length=12, required=False)
