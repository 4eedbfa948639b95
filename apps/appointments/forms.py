from django import forms

from apps.accounts.models import User
from apps.orgs.models import OrgUnit

from .choices import GENDERS, Channel, RoomKind, Status, Weekday
from .models import Room

_dt = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_time = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class _Units(forms.Form):
    def __init__(self, *args, units=None, counsellors=None, rooms=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "unit" in self.fields:
            self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
            self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"
        if "counsellor" in self.fields:
            self.fields["counsellor"].queryset = counsellors if counsellors is not None else User.objects.none()
            self.fields["counsellor"].label_from_instance = lambda u: u.full_name or u.username
        if "room" in self.fields:
            self.fields["room"].queryset = rooms if rooms is not None else Room.objects.none()
            self.fields["room"].label_from_instance = lambda r: f"{r.unit.name} · {r.name}（{r.get_kind_display()}）"


class OverrideFields(forms.Form):
    """A unit manager's approval of a time outside opening or duty hours (issue 13 item 1)."""

    hours_override = forms.BooleanField(
        label="超出服务时间（负责人批准）",
        required=False,
        help_text="仅单位负责人可勾选：在单位开放时间或咨询师值班时间以外安排，须填写理由",
    )
    override_reason = forms.CharField(label="超出服务时间的理由", max_length=200, required=False)


class ContactFields(forms.Form):
    contact_name = forms.CharField(label="姓名", max_length=50)
    contact_phone = forms.CharField(label="联系电话", max_length=20, help_text="手机或带区号的固定电话")
    needs_symptoms = forms.CharField(
        label="需求与症状",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="想解决的问题、目前的困扰",
    )


class AppointmentForm(_Units, ContactFields, OverrideFields):
    """Staff booking (S-FLOW-1): the two "told" boxes, contact, basic information, needs."""

    unit = forms.ModelChoiceField(label="服务单位", queryset=OrgUnit.objects.none())
    channel = forms.ChoiceField(label="预约方式", choices=Channel.choices, initial=Channel.ONSITE)
    client = forms.IntegerField(label="来访者编号", required=False, help_text="已登记的来访者可填写其编号（选填）")
    counsellor = forms.ModelChoiceField(label="咨询师", queryset=User.objects.none())
    room = forms.ModelChoiceField(
        label="咨询室", queryset=Room.objects.none(), required=False, help_text="现场咨询时选择"
    )
    starts_at = forms.DateTimeField(label="开始时间", widget=_dt, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    ends_at = forms.DateTimeField(
        label="结束时间",
        widget=_dt,
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="不填则为 50 分钟",
    )
    gender = forms.ChoiceField(label="性别", choices=GENDERS, required=False)
    age = forms.IntegerField(label="年龄", required=False, min_value=1, max_value=119)
    family = forms.CharField(label="家庭情况", max_length=500, required=False)
    address = forms.CharField(label="住址", max_length=200, required=False)
    told_service_content_flow_counsellor = forms.BooleanField(label="已告知服务内容、流程和咨询师信息", required=False)
    told_confidentiality_and_change_cancel = forms.BooleanField(
        label="已告知保密原则及更改、取消预约的方式", required=False
    )

    field_order = [
        "unit", "channel", "client", "counsellor", "room", "starts_at", "ends_at", "hours_override", "override_reason",
        "contact_name", "contact_phone", "gender", "age", "family", "address", "needs_symptoms",
        "told_service_content_flow_counsellor", "told_confidentiality_and_change_cancel",
    ]  # fmt: skip


class ConfirmForm(_Units):
    counsellor = forms.ModelChoiceField(
        label="咨询师", queryset=User.objects.none(), required=False, help_text="不选则自动安排该时段空闲的值班咨询师"
    )
    room = forms.ModelChoiceField(label="咨询室", queryset=Room.objects.none(), required=False)
    told_service = forms.BooleanField(label="已告知服务内容、流程和咨询师信息", required=False)


class ChangeForm(_Units, OverrideFields):
    starts_at = forms.DateTimeField(
        label="新的开始时间", widget=_dt, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    ends_at = forms.DateTimeField(
        label="新的结束时间",
        widget=_dt,
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="不填则为 50 分钟",
    )
    counsellor = forms.ModelChoiceField(label="咨询师", queryset=User.objects.none(), required=False)
    room = forms.ModelChoiceField(label="咨询室", queryset=Room.objects.none(), required=False)
    reason = forms.CharField(label="改约原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["starts_at", "ends_at", "counsellor", "room", "hours_override", "override_reason", "reason"]


class CancelForm(forms.Form):
    reason = forms.CharField(label="取消原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    status = forms.ChoiceField(label="结果", choices=[(Status.DONE, "已完成"), (Status.NO_SHOW, "未到")])


class RoomForm(_Units):
    unit = forms.ModelChoiceField(label="所属单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="名称", max_length=50)
    kind = forms.ChoiceField(label="类型", choices=RoomKind.choices)
    capacity = forms.IntegerField(label="容纳人数", min_value=1, max_value=200, initial=2)
    active = forms.BooleanField(label="启用", required=False, initial=True)


class AvailabilityForm(_Units):
    unit = forms.ModelChoiceField(label="服务单位", queryset=OrgUnit.objects.none())
    counsellor = forms.ModelChoiceField(label="咨询师", queryset=User.objects.none())
    weekday = forms.TypedChoiceField(label="星期", choices=Weekday.choices, coerce=int)
    start = forms.TimeField(label="开始时间", widget=_time)
    end = forms.TimeField(label="结束时间", widget=_time)


class OpeningHoursForm(forms.Form):
    weekday = forms.TypedChoiceField(label="星期", choices=Weekday.choices, coerce=int)
    opens = forms.TimeField(label="开门时间", widget=_time)
    closes = forms.TimeField(label="关门时间", widget=_time)


class UnitContactForm(forms.Form):
    address = forms.CharField(label="地址", max_length=200, required=False, help_text="显示在网上预约成功页面和短信中")
    phone = forms.CharField(label="联系电话", max_length=30, required=False, help_text="如 0571-8888 6666")


class WeekForm(_Units):
    """The week view's choices: a date in the week, a counsellor and a room."""

    date = forms.DateField(label="日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    counsellor = forms.ModelChoiceField(label="咨询师", queryset=User.objects.none(), required=False)
    room = forms.ModelChoiceField(label="咨询室", queryset=Room.objects.none(), required=False)


class PublicBookingForm(ContactFields):
    """The public form: a free hour, how to talk, contact, needs and the confidentiality notice."""

    slot = forms.CharField(widget=forms.HiddenInput)
    channel = forms.ChoiceField(
        label="咨询方式",
        choices=[(Channel.ONSITE, "到场面谈"), (Channel.PHONE, "电话咨询"), (Channel.ONLINE, "网络咨询")],
        initial=Channel.ONSITE,
    )
    agree = forms.BooleanField(
        label="我已阅读并同意上述保密原则及更改、取消预约的说明",
        error_messages={"required": "请阅读保密原则及更改、取消预约的说明，并勾选同意。"},
    )

    field_order = ["slot", "channel", "contact_name", "contact_phone", "needs_symptoms", "agree"]


class PublicCodeForm(forms.Form):
    """Step 2 of the public form: the six-digit code sent by SMS (issue 14 item 4)."""

    code = forms.CharField(
        label="短信验证码",
        max_length=12,
        error_messages={"required": "请输入短信验证码。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
