from django import forms

from apps.membership.selectors import label_people
from apps.orgs.models import OrgUnit

from .choices import Attendance, Body
from .models import DEFAULT_WORK_REPORT_DAYS

_select = {"class": "form-select"}
_moment = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_text = {"rows": 4}


def _people_field(label, required=True):
    return forms.ModelMultipleChoiceField(
        label=label, queryset=None, required=required, widget=forms.CheckboxSelectMultiple
    )


class MeetingForm(forms.Form):
    unit = forms.ModelChoiceField(label="召开单位", queryset=OrgUnit.objects.none())
    body = forms.ChoiceField(label="会议类别", choices=Body.choices, widget=forms.Select(attrs=_select))
    title = forms.CharField(label="会议名称", max_length=100)
    starts_at = forms.DateTimeField(label="开始时间", widget=_moment)
    recorded_after_held = forms.BooleanField(
        label="补录已召开的会议", required=False,
        help_text="登记已经开过的会议时勾选，开始时间可早于现在，并标记为“补录”",
    )  # fmt: skip
    place = forms.CharField(label="地点", max_length=100)
    is_work_meeting = forms.BooleanField(
        label="阶段性工作会议", required=False, initial=True, help_text="请假未出席的须在会后提交书面工作报告"
    )
    work_report_days = forms.IntegerField(
        label="书面报告期限（天）", min_value=1, max_value=60, initial=DEFAULT_WORK_REPORT_DAYS,
        help_text="请假获批后，自会议日起按自然日计算",
    )  # fmt: skip
    agenda = forms.CharField(label="议程", required=False, widget=forms.Textarea(attrs=_text), help_text="每行一项议题")
    groups = forms.MultipleChoiceField(
        label="邀请群体", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="勾选的机构、部门或专业委员会的全部在册人员都会收到邀请",
    )  # fmt: skip
    invitees = _people_field("另外邀请个人", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, units=None, people=None, groups=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"
        self.fields["groups"].choices = list(groups)
        self.fields["invitees"].queryset = people
        label_people(self.fields["invitees"])
        if editing:
            del self.fields["unit"]
            del self.fields["body"]
            del self.fields["recorded_after_held"]

    def agenda_lines(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("agenda", "").splitlines() if line.strip()]


class CancelForm(forms.Form):
    reason = forms.CharField(label="取消原因", max_length=200)


class MinutesForm(forms.Form):
    minutes = forms.CharField(label="会议纪要", max_length=20000, widget=forms.Textarea(attrs={"rows": 8}))
    resolutions = forms.CharField(label="决议", max_length=10000, required=False, widget=forms.Textarea(attrs=_text))
    version = forms.IntegerField(widget=forms.HiddenInput)


class AttendanceForm(forms.Form):
    """One select per invitation: ``inv_<id>``."""

    CHOICES = [(Attendance.PRESENT, "出席"), (Attendance.EXCUSED, "请假"), (Attendance.ABSENT, "缺席")]

    def __init__(self, *args, invitations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.invitations = list(invitations)
        for inv in self.invitations:
            initial = inv.attendance if inv.attendance != Attendance.PENDING else (
                Attendance.EXCUSED if inv.leave_status == "approved" else Attendance.PRESENT
            )  # fmt: skip
            self.fields[f"inv_{inv.pk}"] = forms.ChoiceField(
                label=inv.user.full_name, choices=self.CHOICES, initial=initial, widget=forms.Select(attrs=_select)
            )

    def marks(self) -> dict:
        return {int(name[4:]): value for name, value in self.cleaned_data.items() if name.startswith("inv_")}


class LeaveDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label="审批", choices=[("1", "批准"), ("0", "不批准")], coerce=lambda v: v == "1", widget=forms.RadioSelect
    )
    note = forms.CharField(label="审批意见", max_length=200, required=False)


class ReceiveReportForm(forms.Form):
    note = forms.CharField(label="说明", max_length=2000, required=False, help_text="如：纸质报告已交秘书处")


class LeaveRequestForm(forms.Form):
    reason = forms.CharField(label="请假事由", max_length=1000, widget=forms.Textarea(attrs=_text))


class WorkReportForm(forms.Form):
    text = forms.CharField(
        label="书面工作报告", max_length=20000, widget=forms.Textarea(attrs={"rows": 10}),
        help_text="请简要报告近阶段工作开展情况",
    )  # fmt: skip


class DutyReportRequestForm(forms.Form):
    unit = forms.ModelChoiceField(label="所属单位", queryset=OrgUnit.objects.none())
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    leader = forms.ModelChoiceField(label="述职人", queryset=None)
    position_title = forms.CharField(label="职务", max_length=50, help_text="如：会长、秘书长、会员工作部部长")
    due_date = forms.DateField(label="提交期限", widget=_date)
    meeting = forms.ModelChoiceField(label="述职会议", queryset=None, required=False)

    def __init__(self, *args, units=None, people=None, meetings=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["unit"].label_from_instance = lambda u: f"{'　' * u.depth}{u.name}"
        self.fields["leader"].queryset = people
        label_people(self.fields["leader"])
        self.fields["meeting"].queryset = meetings


class DutyReportForm(forms.Form):
    content = forms.CharField(label="述职内容", max_length=20000, widget=forms.Textarea(attrs={"rows": 12}))
