"""Demo data of apps.governance: past and upcoming meetings with attendance, leave, work reports and duty reports.

Rows are written through the normal services at "now"; past meetings are then moved back in time
with a plain UPDATE (the services refuse leave after a meeting starts, as they must).
"""

import datetime as dt
import random

from django.utils import timezone

from . import services
from .choices import Attendance, Body
from .models import DutyReport, Invitation, Meeting
from .selectors import today

PEOPLE = ("secretariat", "membership", "board", "committee", "member")
MONTHS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")


def _backdate(meeting, days_ago: int, hour: int = 14):
    """Move a meeting (and the work reports owed for it) ``days_ago`` days back."""
    local = timezone.localtime() - dt.timedelta(days=days_ago)
    starts = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=starts)
    meeting.refresh_from_db()
    for invitation in meeting.invitations.filter(report_due__isnull=False):
        due = services.add_days(starts.date(), meeting.work_report_days)
        Invitation.objects.filter(pk=invitation.pk).update(report_due=due)
    return meeting


def seed_demo_governance(units: dict, users: dict) -> int:
    """Seed meetings of the demo association; does nothing if it already has meetings."""
    association = units["association"]
    if Meeting.objects.filter(unit_path__startswith=association.path).exists():
        return 0
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    people = [users[name] for name in PEOPLE if name in users]
    if len(people) < len(PEOPLE):
        return 0
    sec, membership, board, committee, member = people
    soon = timezone.localtime().replace(hour=14, minute=30, second=0, microsecond=0) + dt.timedelta(days=1)
    # Titles name the year and month the meetings fall in at the moment of seeding (any day of any year).
    board_day, weekly_day = today() - dt.timedelta(days=45), today() - dt.timedelta(days=10)
    assembly_day = (soon + dt.timedelta(days=20)).date()
    count = 0

    def meeting(unit, body, title, place, *, agenda, invitees, work=True, days=7, starts=soon):
        nonlocal count
        count += 1
        return services.do_create_meeting(
            actor=None, unit=unit, body=body, title=title, starts_at=starts, place=place, is_work_meeting=work,
            work_report_days=days, agenda=agenda, invitees=invitees,
        )  # fmt: skip

    def invitation(m, user):
        return m.invitations.get(user=user)

    # 1. A board meeting 45 days ago: one excused member handed in the report, the board member did not (overdue).
    board_meeting = meeting(
        association, Body.BOARD, f"{board_day.year} 年第三次理事会", "协会会议室（市民中心 B 座 402）",
        agenda=["上半年工作总结", "下半年项目计划审议", "新会员入会审批"], invitees=people,
    )  # fmt: skip
    for user, reason in ((member, "当天在外地参加督导培训"), (board, "单位年度审计，无法请假")):
        services.do_request_leave(actor=user, invitation=invitation(board_meeting, user), reason=reason)
        services.do_decide_leave(actor=sec, invitation=invitation(board_meeting, user), approve=True)
    _backdate(board_meeting, 45)
    services.do_record_attendance(
        actor=sec, meeting=board_meeting,
        marks={invitation(board_meeting, u).pk: a for u, a in (
            (sec, Attendance.PRESENT), (membership, Attendance.PRESENT), (committee, Attendance.PRESENT),
            (member, Attendance.EXCUSED), (board, Attendance.EXCUSED))},
    )  # fmt: skip
    services.do_record_minutes(
        actor=sec, meeting=board_meeting, version=Meeting.objects.get(pk=board_meeting.pk).version,
        minutes="会议听取了秘书处上半年工作总结，审议了下半年项目计划，批准新会员 12 名。",
        resolutions="1. 通过下半年项目计划；\n2. 批准 12 名新会员入会。",
    )  # fmt: skip
    services.do_submit_work_report(
        actor=member, invitation=invitation(board_meeting, member),
        text="近阶段在青少年专委会参与了三场校园心理讲座，完成个案接待 6 人次。",
    )  # fmt: skip

    # 2. A secretariat work meeting 10 days ago: the committee head is excused, report due in 4 days.
    weekly = meeting(
        association, Body.SECRETARIAT, f"秘书处{MONTHS[weekly_day.month - 1]}月工作例会", "协会办公室", days=14,
        agenda=["各部门工作进度", "年会筹备"], invitees=[sec, membership, committee],
    )  # fmt: skip
    services.do_request_leave(actor=committee, invitation=invitation(weekly, committee), reason="危机干预现场值班")
    services.do_decide_leave(
        actor=sec, invitation=invitation(weekly, committee), approve=True, note="同意，会后补交报告"
    )
    _backdate(weekly, 10, hour=9)
    services.do_record_attendance(
        actor=sec, meeting=weekly,
        marks={invitation(weekly, sec).pk: Attendance.PRESENT, invitation(weekly, membership).pk: Attendance.ABSENT,
               invitation(weekly, committee).pk: Attendance.EXCUSED},
    )  # fmt: skip

    # 3. Upcoming: a standing board meeting (leave requested, awaiting decision), the general assembly with
    #    duty reports, and a committee meeting.
    standing = meeting(
        association, Body.STANDING_BOARD, "常务理事会（年终）", "协会会议室",
        agenda=["年度财务预算执行情况", "明年工作要点"], invitees=[sec, board, member],
        starts=soon + dt.timedelta(days=5),
    )  # fmt: skip
    services.do_request_leave(actor=member, invitation=invitation(standing, member), reason="当天有预约的个案咨询")
    assembly = meeting(
        association, Body.GENERAL_ASSEMBLY, f"{assembly_day.year} 年度会员大会", "市民中心报告厅", work=False,
        agenda=["理事会工作报告", "财务报告", "表彰优秀会员"], invitees=people, starts=soon + dt.timedelta(days=20),
    )  # fmt: skip
    crisis = units.get("committee-危机干预专业委员会")
    if crisis is not None:
        meeting(
            crisis, Body.UNIT, "危机干预专委会季度工作会", "协会办公室",
            agenda=["热线值班排班", "应激事件快速援助演练"], invitees=[committee, member],
            starts=soon + dt.timedelta(days=rng.randint(8, 12)),
        )  # fmt: skip

    # 4. Duty reports for this year: received, submitted (awaiting receipt), and missing (overdue).
    year = today().year
    received = services.do_request_duty_report(
        actor=None, unit=association, year=year, leader=sec, position_title="秘书长",
        due_date=today() + dt.timedelta(days=15), meeting=assembly,
    )  # fmt: skip
    services.do_submit_duty_report(actor=sec, report=received, content="本年度秘书处组织会议 14 次，完成年检……")
    services.do_receive_duty_report(actor=None, report=received)
    submitted = services.do_request_duty_report(
        actor=None, unit=association, year=year, leader=membership, position_title="会员工作部部长",
        due_date=today() + dt.timedelta(days=15), meeting=assembly,
    )  # fmt: skip
    services.do_submit_duty_report(
        actor=membership, report=submitted, content="本年度发展新会员 36 名，会费收缴率 92%。"
    )
    missing = services.do_request_duty_report(
        actor=None, unit=association, year=year, leader=committee, position_title="危机干预专业委员会主任",
        due_date=today() + dt.timedelta(days=1),
    )  # fmt: skip
    DutyReport.objects.filter(pk=missing.pk).update(due_date=today() - dt.timedelta(days=10))
    return count
