"""Demo data of apps.assistance: routes, help requests at every stage, hours, the crisis roster, an event, a rota.

Runs after the membership demo. Everything goes through the normal services (so the audit log and
notifications look as they would in use); the few extra members it needs get make-believe names.
"""

import datetime as dt
import random
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.scoping import unscoped

from . import services
from .choices import Skill, Specialty
from .models import HelpRequest, HotlineShift, HoursRecord, Responder, StressEvent

# (username, full name, committee) — extra members when the committees have few people yet.
EXTRA_MEMBERS = [
    ("demo_lin", "林晓岚", "青少年心理专业委员会"),
    ("demo_zheng", "郑思远", "青少年心理专业委员会"),
    ("demo_he", "何静怡", "危机干预专业委员会"),
    ("demo_song", "宋嘉禾", "危机干预专业委员会"),
    ("demo_han", "韩雨桐", "危机干预专业委员会"),
    ("demo_feng", "冯子墨", "婚姻家庭专业委员会"),
    ("demo_deng", "邓若溪", "老年心理专业委员会"),
]
COMMITTEE_OF = {
    Specialty.YOUTH: "青少年心理专业委员会",
    Specialty.CAREER: "职业心理专业委员会",
    Specialty.FAMILY: "婚姻家庭专业委员会",
    Specialty.ELDERLY: "老年心理专业委员会",
    Specialty.CRISIS: "危机干预专业委员会",
    Specialty.ART: "艺术治疗专业委员会",
}
SEEKERS = ["周女士", "吴先生", "孙同学家长", "郑阿姨", "王先生", "李女士", "陈同学", "赵大爷", "钱女士", "冯先生"]
TOPICS = {
    Specialty.YOUTH: "孩子初二，最近拒绝上学、整天玩手机，一说就发脾气，家长不知道怎么沟通。",
    Specialty.FAMILY: "结婚八年，最近因为老人带孩子的事和爱人频繁争吵，想做婚姻咨询。",
    Specialty.ELDERLY: "父亲退休后独居，老伴去世半年，情绪低落、吃饭很少。",
    Specialty.CAREER: "连续加班三个月，失眠心慌，担心被裁员。",
    Specialty.CRISIS: "同事突发意外离世，部门多人出现失眠、闯入性回忆。",
    Specialty.ART: "孩子有自闭倾向，想了解绘画治疗能否帮助表达情绪。",
}
TRAININGS = ["哀伤辅导专题培训", "青少年危机干预工作坊", "家庭治疗入门", "沙盘游戏疗法", "心理咨询伦理培训"]
SUPERVISIONS = ["团体督导（第{n}次）", "个案督导：厌学青少年", "专家督导：丧亲家庭"]
VOLUNTEER = ["社区心理健康讲座", "心理援助热线志愿值守", "敬老院团体辅导", "外来务工子女学校心理课"]


def _committee_members(unit) -> list:
    from apps.accounts.models import User

    return list(User.objects.filter(is_active=True, assignments__unit=unit).distinct().order_by("id"))


def _extra_members(units: dict) -> list:
    """Create the make-believe members (role ``member`` at a committee) that are not there yet."""
    from django.contrib.auth.hashers import make_password

    from apps.accounts.models import Assignment, Role, User
    from apps.core.management.commands.seed_demo import DEMO_PASSWORD

    role = Role.objects.get(code="member")
    password = make_password(DEMO_PASSWORD)
    people = []
    for username, full_name, committee in EXTRA_MEMBERS:
        unit = units[f"committee-{committee}"]
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(username=username, full_name=full_name, unit=unit, password=password)
        Assignment.objects.get_or_create(user=user, unit=unit, role=role)
        people.append(user)
    return people


def _members_of(association) -> list:
    from apps.accounts.models import User

    return list(
        User.objects.filter(is_active=True, assignments__unit__path__startswith=association.path)
        .distinct()
        .order_by("id")
    )


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=services.SHANGHAI)


def seed_demo_assistance(units: dict, users: dict) -> dict:
    """Seed the demo association's services; returns counts by kind (for the command's message)."""
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    association = units["association"]
    if StressEvent.objects.filter(unit=association).exists():  # seeded before: running seed_demo again is a no-op
        return _counts(association, shifts=HotlineShift.objects.filter(unit=association).count())
    committees = {name: units[f"committee-{name}"] for name in COMMITTEE_OF.values()}
    extras = _extra_members(units)
    today = services.today()
    now = timezone.now()

    # One request arrives before the routes exist: it waits at the association for manual routing.
    def register(specialty, days_ago, hours_ago=2, urgency="normal"):
        received = min(now - dt.timedelta(days=days_ago, hours=hours_ago), now)
        return services.do_register_help_request(
            actor=None, unit=association, channel=rng.choice(["hotline", "phone", "online", "walk_in"]),
            received_at=received, seeker_name=rng.choice(SEEKERS), seeker_phone=f"139{rng.randint(10000000, 99999999)}",
            topic=TOPICS[specialty], specialty=specialty, urgency=urgency,
        )  # fmt: skip

    register(Specialty.ART, days_ago=6)
    services.do_save_settings(
        actor=None, unit=association, assign_working_days=2, education_minimum=Decimal("24"),
        routes={specialty: committees[name] for specialty, name in COMMITTEE_OF.items()},
    )  # fmt: skip

    youth = committees["青少年心理专业委员会"]
    counsellors = [u for u in _committee_members(youth) if u.username != "committee"]
    member = users.get("member") or counsellors[0]
    other = next((u for u in counsellors if u.pk != member.pk), member)

    register(Specialty.YOUTH, days_ago=7, urgency="urgent")  # routed, overdue
    register(Specialty.FAMILY, days_ago=0)  # routed, fresh
    waiting = register(Specialty.YOUTH, days_ago=1)
    services.do_assign_help_request(actor=None, request=waiting, assignee=member)
    accepted = register(Specialty.YOUTH, days_ago=3, urgency="urgent")
    services.do_assign_help_request(actor=None, request=accepted, assignee=member)
    services.do_accept_help_request(actor=member, request=accepted)
    declined = register(Specialty.YOUTH, days_ago=2)
    services.do_assign_help_request(actor=None, request=declined, assignee=other)
    services.do_decline_help_request(actor=other, request=declined, reason="本周外出培训，无法及时接待")
    for specialty, outcome in ((Specialty.YOUTH, "resolved"), (Specialty.ELDERLY, "withdrawn")):
        closed = register(specialty, days_ago=20)
        if outcome == "resolved":
            services.do_assign_help_request(actor=None, request=closed, assignee=member)
            services.do_accept_help_request(actor=member, request=closed)
            services.do_close_help_request(actor=member, request=closed, outcome=outcome, note="三次电话疏导后情绪平稳")
        else:
            services.do_close_help_request(actor=None, request=closed, outcome=outcome, note="求助者表示已自行就医")

    # Hours for every member of the association: this year and last year; a few self-reports pending.
    members = _members_of(association)
    hours_count = 0
    for person in members:
        for year_back in (1, 0):
            for _ in range(rng.randint(1, 5)):
                start = min(dt.date(today.year - year_back, 1, 2), today)  # on 1 January: today
                end = today if year_back == 0 else dt.date(today.year - 1, 12, 30)
                day = start + dt.timedelta(days=rng.randint(0, (end - start).days))
                kind = rng.choice(["training", "training", "supervision", "case_practice", "volunteer", "volunteer"])
                activity = {
                    "training": rng.choice(TRAININGS),
                    "supervision": rng.choice(SUPERVISIONS).format(n=rng.randint(1, 9)),
                    "case_practice": "个案实践（协会转介个案）",
                    "volunteer": rng.choice(VOLUNTEER),
                }[kind]
                services.do_record_hours(
                    actor=None, member=person, kind=kind, activity=activity, date=day,
                    hours=Decimal(rng.choice([2, 3, 4, 6, 8])) / (2 if kind == "supervision" else 1),
                )  # fmt: skip
                hours_count += 1
    for person in rng.sample(members, min(4, len(members))):
        try:
            services.do_report_hours(
                actor=person, kind="supervision", activity="小组督导（本人申报）", date=today, hours=Decimal("2")
            )
        except ValidationError:  # the person's active post cannot self-report (e.g. a department clerk)
            continue

    # The crisis roster: the committee head, the demo member and the make-believe members.
    roster_people = [users.get("committee"), member, *extras]
    skills_cycle = [
        [Skill.CRISIS_INTERVENTION, Skill.GRIEF, Skill.HOTLINE],
        [Skill.CHILDREN, Skill.HOTLINE],
        [Skill.CRISIS_INTERVENTION, Skill.CHILDREN, Skill.GROUP],
        [Skill.GRIEF, Skill.HOTLINE],
        [Skill.CRISIS_INTERVENTION, Skill.HOTLINE],
        [Skill.GROUP, Skill.CHILDREN],
    ]
    responders = []
    for index, person in enumerate(p for p in roster_people if p is not None):
        if Responder.objects.filter(user=person).exists():
            responders.append(Responder.objects.get(user=person))
            continue
        assignment = person.assignments.filter(unit__path__startswith=association.path).order_by("id").first()
        if assignment is None:
            continue
        responders.append(
            services.do_register_responder(
                actor=None,
                user=person,
                unit=assignment.unit,
                trained_on=dt.date(2025, 3 + index % 6, 10),
                skills=skills_cycle[index % len(skills_cycle)],
                available_from=dt.time(7),
                available_to=dt.time(22),
                contact=f"1390000{index:04d}",
                available_weekdays="1234567",
                status="unavailable" if index == 5 else "available",
                note="可参加夜间热线" if index % 3 == 0 else "",
            )  # fmt: skip
        )

    # The event, with dispatched responders: one shift done yesterday, two on site tomorrow.
    event = services.do_register_event(
        actor=None, unit=association, title="某中学学生意外事件", kind="school_suicide", place="示范市第三中学",
        occurred_at=_local(today - dt.timedelta(days=2), 16, 30), scale=600, severity="larger",
        description="一名初三学生在校外意外身亡，同班同学及部分教师出现明显应激反应，学校请求心理援助。",
    )  # fmt: skip
    available = [r for r in responders if r.status == "available"]
    yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    done = services.do_dispatch(
        actor=None, event=event, responders=available[:2], role="counsellor", starts_at=_local(yesterday, 9),
        ends_at=_local(yesterday, 13), urgent=False,
    )  # fmt: skip
    for dispatch in done:
        services.do_report_dispatch(
            actor=None, dispatch=dispatch, hours=Decimal("3.5"), people_served=36,
            services={"group_debriefing": 28, "individual": 6, "psychoeducation": 2}, summary="初三（2）班团体晤谈两场",
        )  # fmt: skip
    services.do_dispatch(
        actor=None, event=event, responders=available[:1], role="leader", starts_at=_local(tomorrow, 9),
        ends_at=_local(tomorrow, 17),
    )  # fmt: skip
    services.do_dispatch(
        actor=None, event=event, responders=available[2:4], role="counsellor", starts_at=_local(tomorrow, 9),
        ends_at=_local(tomorrow, 17),
    )  # fmt: skip

    # The hotline rota for this week and next: two shifts a day, by whoever is free with the skill.
    hotline = [r for r in available if r.skills.filter(skill=Skill.HOTLINE).exists()]
    monday = today - dt.timedelta(days=today.weekday())
    shifts = 0
    for offset in range(14):
        day = monday + dt.timedelta(days=offset)
        for slot, (start, end) in enumerate(((8, 14), (14, 20))):
            for attempt in range(len(hotline)):
                person = hotline[(offset * 2 + slot + attempt) % len(hotline)] if hotline else None
                if person is None:
                    break
                try:
                    services.do_add_shift(
                        actor=None, unit=association, responder=person, starts_at=_local(day, start),
                        ends_at=_local(day, end),
                    )  # fmt: skip
                except ValidationError:
                    continue
                shifts += 1
                break
    return _counts(association, shifts=shifts)


def _counts(association, *, shifts: int) -> dict:
    with unscoped("count the demo association's records for the command's message"):
        return {
            "help_requests": HelpRequest.objects.filter(tenant=association).count(),
            "hours": HoursRecord.objects.filter(unit_path__startswith=association.path).count(),
            "responders": Responder.objects.filter(unit__path__startswith=association.path).count(),
            "events": StressEvent.objects.filter(unit=association).count(),
            "shifts": shifts,
        }
