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

    def __init__(self, *args, units=None, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = _unit_label
        if roles is not None:
            self.fields["role"].queryset = roles


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


class GrantRequestForm(AssignForm):
    """Ask the security administrator to approve a role that reads counselling notes (issue 14)."""

    reason = forms.CharField(
        label="申请理由", max_length=500, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("unit", "role", "reason"):
            self.fields[name].widget.attrs["id"] = f"id_grant_{name}"


class GrantDecisionForm(forms.Form):
    decision = forms.ChoiceField(label="决定", choices=[("approve", "批准"), ("refuse", "拒绝")])
    reason = forms.CharField(label="意见（拒绝时必填）", max_length=500, required=False)


class ApiTokenForm(forms.Form):
    """A new personal API token: its name and how many days it lives (issue 14 item 3)."""

    name = forms.CharField(label="令牌名称", max_length=50, help_text="例如调用它的系统，便于日后辨认和作废。")
    days = forms.IntegerField(label="有效期（天）", min_value=1)

    def __init__(self, *args, max_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].max_value = max_days
        self.fields["days"].initial = max_days
        self.fields["days"].help_text = f"最长 {max_days} 天；到期或连续长期未用后自动失效。"
        self.fields["days"].validators.append(_max_days_validator(max_days))


def _max_days_validator(max_days: int):
    from django.core.validators import MaxValueValidator

    return MaxValueValidator(max_days, message=f"有效期最长 {max_days} 天。")
