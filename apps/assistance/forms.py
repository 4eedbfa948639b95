from django import forms

from apps.membership.selectors import label_people, member_numbers
from apps.orgs.models import OrgUnit

from .choices import (
    Availability,
    DispatchRole,
    EventKind,
    HelpChannel,
    HelpOutcome,
    HoursKind,
    ServiceKind,
    Severity,
    Skill,
    Specialty,
    Urgency,
)

_select = {"class": "form-select"}
_moment = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_time = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
_text = {"rows": 4}
WEEKDAYS = [("1", "周一"), ("2", "周二"), ("3", "周三"), ("4", "周四"), ("5", "周五"), ("6", "周六"), ("7", "周日")]


def _unit_label(unit):
    return f"{'　' * unit.depth}{unit.name}"


def _responder_labels(field, detail) -> None:
    """Label responders "2026-0007 林雨欣（unit…）" — the member number tells equal names apart."""
    rows = list(field.queryset.select_related("user", "unit")) if field.queryset is not None else []
    numbers = member_numbers([r.user_id for r in rows])

    def label(responder):
        number = numbers.get(responder.user_id)
        name = f"{number} {responder.user.full_name}" if number else responder.user.full_name
        return f"{name}（{detail(responder)}）"

    field.label_from_instance = label


UNAVAILABLE_CHOICE = "该人员已不在可调派名单中，请刷新后重新选择。"


class VersionForm(forms.Form):
    """Carries the version the user saw, so a stale edit is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class UnitChoiceMixin:
    def set_units(self, units, field="unit"):
        self.fields[field].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields[field].label_from_instance = _unit_label


class HelpRequestForm(UnitChoiceMixin, forms.Form):
    unit = forms.ModelChoiceField(label="受理单位", queryset=OrgUnit.objects.none(), help_text="一般为协会本身")
    channel = forms.ChoiceField(label="求助渠道", choices=HelpChannel.choices, widget=forms.Select(attrs=_select))
    received_at = forms.DateTimeField(label="收到时间", widget=_moment)
    seeker_name = forms.CharField(label="求助者姓名（或称呼）", max_length=50)
    seeker_phone = forms.CharField(label="联系电话", max_length=20, required=False)
    specialty = forms.ChoiceField(
        label="专业领域", choices=Specialty.choices, widget=forms.Select(attrs=_select),
        help_text="按设置自动分流到对应的专业委员会",
    )  # fmt: skip
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, widget=forms.Select(attrs=_select))
    topic = forms.CharField(label="求助问题", max_length=5000, widget=forms.Textarea(attrs=_text))

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_units(units)


class RouteForm(VersionForm):
    committee = forms.ModelChoiceField(label="专业委员会", queryset=OrgUnit.objects.none())
    reason = forms.CharField(label="分流说明", max_length=500, required=False)

    def __init__(self, *args, committees=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = committees if committees is not None else OrgUnit.objects.none()


class AssignForm(VersionForm):
    assignee = forms.ModelChoiceField(label="接案心理师", queryset=None, help_text="本专业委员会的会员")
    reason = forms.CharField(label="改派原因", max_length=500, required=False, help_text="改派时必须填写")

    def __init__(self, *args, counsellors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = counsellors
        label_people(self.fields["assignee"])


class CloseForm(VersionForm):
    outcome = forms.ChoiceField(label="结案结果", choices=HelpOutcome.choices, widget=forms.Select(attrs=_select))
    note = forms.CharField(label="结案说明", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class DeclineForm(VersionForm):
    reason = forms.CharField(label="婉拒原因", max_length=500)


class SettingsForm(VersionForm):
    assign_working_days = forms.IntegerField(
        label="分派时限（工作日）", min_value=1, max_value=30, help_text="收到求助后须在几个工作日内分派心理师"
    )
    education_minimum = forms.DecimalField(
        label="年度继续教育最低学时", min_value=0, max_value=1000, decimal_places=1,
        help_text="学术培训、个案实践与专家督导合计",
    )  # fmt: skip

    def __init__(self, *args, committees=None, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in Specialty.choices:
            field = forms.ModelChoiceField(
                label=f"{label} → 专业委员会", queryset=committees, required=False, empty_label="（不自动分流）"
            )
            self.fields[f"route_{value}"] = field

    def routes(self) -> dict:
        return {value: self.cleaned_data.get(f"route_{value}") for value in Specialty.values}


class HoursForm(forms.Form):
    kind = forms.ChoiceField(label="类别", choices=HoursKind.choices, widget=forms.Select(attrs=_select))
    activity = forms.CharField(label="活动名称", max_length=100, help_text="如：哀伤辅导专题培训、第3次团体督导")
    date = forms.DateField(label="日期", widget=_date)
    hours = forms.DecimalField(label="时长（小时）", min_value=0, max_value=24, decimal_places=1)
    note = forms.CharField(label="备注", max_length=200, required=False)


class MemberHoursForm(HoursForm):
    member = forms.ModelChoiceField(label="会员", queryset=None)
    field_order = ["member", "kind", "activity", "date", "hours", "note"]

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        label_people(self.fields["member"])


class EditHoursForm(HoursForm, VersionForm):
    pass


class ConfirmForm(VersionForm):
    approve = forms.TypedChoiceField(
        label="确认结果", choices=[("1", "确认"), ("0", "退回")], coerce=lambda v: v == "1", empty_value=None
    )
    reason = forms.CharField(label="退回原因", max_length=200, required=False)


class ResponderFields(forms.Form):
    trained_on = forms.DateField(label="受训日期", widget=_date)
    skills = forms.MultipleChoiceField(label="援助技能", choices=Skill.choices, widget=forms.CheckboxSelectMultiple)
    status = forms.ChoiceField(label="调派状态", choices=Availability.choices, widget=forms.Select(attrs=_select))
    available_weekdays = forms.MultipleChoiceField(
        label="可调派星期", choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    available_from = forms.TimeField(label="每日可调派开始", widget=_time)
    available_to = forms.TimeField(label="每日可调派结束", widget=_time)
    contact = forms.CharField(label="联系电话（手机）", max_length=20)
    note = forms.CharField(label="备注", max_length=200, required=False)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["available_weekdays"] = "".join(data["available_weekdays"])
        data.pop("version", None)
        return data


class ResponderForm(UnitChoiceMixin, ResponderFields):
    user = forms.ModelChoiceField(label="会员", queryset=None)
    unit = forms.ModelChoiceField(label="所属委员会或协会", queryset=OrgUnit.objects.none())
    field_order = ["user", "unit"]

    def __init__(self, *args, members=None, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = members
        label_people(self.fields["user"])
        self.set_units(units)


class ResponderEditForm(ResponderFields, VersionForm):
    pass


class EventForm(UnitChoiceMixin, forms.Form):
    unit = forms.ModelChoiceField(label="负责单位", queryset=OrgUnit.objects.none())
    title = forms.CharField(label="事件名称", max_length=100)
    kind = forms.ChoiceField(label="事件类型", choices=EventKind.choices, widget=forms.Select(attrs=_select))
    place = forms.CharField(label="地点", max_length=200)
    occurred_at = forms.DateTimeField(label="发生时间", widget=_moment)
    scale = forms.IntegerField(label="波及人数（约）", min_value=1)
    severity = forms.ChoiceField(label="严重程度", choices=Severity.choices, widget=forms.Select(attrs=_select))
    description = forms.CharField(label="情况说明", max_length=5000, required=False, widget=forms.Textarea(attrs=_text))

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_units(units)


class MobiliseFilterForm(forms.Form):
    """The mobilisation query: a time window, and optionally a committee and a skill."""

    starts_at = forms.DateTimeField(label="报到时间", widget=_moment)
    ends_at = forms.DateTimeField(label="结束时间", widget=_moment)
    committee = forms.ModelChoiceField(label="专业委员会", queryset=OrgUnit.objects.none(), required=False)
    skill = forms.ChoiceField(
        label="所需技能", choices=[("", "（不限）"), *Skill.choices], required=False, widget=forms.Select(attrs=_select)
    )

    def __init__(self, *args, committees=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = committees if committees is not None else OrgUnit.objects.none()
        self.fields["committee"].empty_label = "（不限）"

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise forms.ValidationError("结束时间须晚于报到时间。")
        return data


class DispatchForm(forms.Form):
    """Tick responders and a task; ``reason`` is needed for anyone outside their own available period."""

    role = forms.ChoiceField(label="任务", choices=DispatchRole.choices, widget=forms.Select(attrs=_select))
    responders = forms.ModelMultipleChoiceField(
        label="调派人员",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": UNAVAILABLE_CHOICE, "invalid_pk_value": UNAVAILABLE_CHOICE},
    )
    reason = forms.CharField(
        label="越时段调派原因",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="所选人员不在本人可调派时段内（标有“越时段”）时必填，将记入调派记录和审计日志。",
    )
    urgent = forms.BooleanField(
        label="紧急调派：除站内信外，同时发短信到名册登记的联系电话", required=False, initial=True
    )

    def __init__(self, *args, candidates=None, outside=None, **kwargs):
        """``candidates``: who may be ticked; ``outside``: {responder id: "越时段…" note} for those out of hours."""
        super().__init__(*args, **kwargs)
        outside = outside or {}
        self.fields["responders"].queryset = candidates
        _responder_labels(
            self.fields["responders"],
            lambda r: "；".join(
                p
                for p in (
                    r.unit.name,
                    "、".join(s.get_skill_display() for s in r.skills.all()),
                    outside.get(r.pk, ""),
                )
                if p
            ),
        )


class DispatchReportForm(VersionForm):
    hours = forms.DecimalField(label="服务时长（小时）", min_value=0, decimal_places=1)
    people_served = forms.IntegerField(label="服务人次", min_value=0)
    summary = forms.CharField(
        label="服务小结", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in ServiceKind.choices:
            self.fields[f"service_{value}"] = forms.IntegerField(
                label=f"{label}（人次）", min_value=0, required=False, help_text="未提供该项服务的留空"
            )

    def services(self) -> dict:
        return {
            value: self.cleaned_data[f"service_{value}"]
            for value in ServiceKind.values
            if self.cleaned_data.get(f"service_{value}") is not None
        }


class ReasonForm(VersionForm):
    reason = forms.CharField(label="原因", max_length=200, required=False)


class ShiftForm(UnitChoiceMixin, forms.Form):
    unit = forms.ModelChoiceField(label="排班单位", queryset=OrgUnit.objects.none())
    responder = forms.ModelChoiceField(
        label="值班人员",
        queryset=None,
        help_text="须具备“热线接听”技能",
        error_messages={"invalid_choice": UNAVAILABLE_CHOICE},
    )
    starts_at = forms.DateTimeField(label="开始时间", widget=_moment)
    ends_at = forms.DateTimeField(label="结束时间", widget=_moment)
    note = forms.CharField(label="备注", max_length=200, required=False)

    def __init__(self, *args, units=None, responders=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_units(units)
        self.fields["responder"].queryset = responders
        _responder_labels(self.fields["responder"], lambda r: r.unit.name)
