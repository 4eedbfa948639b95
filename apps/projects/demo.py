"""Demo data of apps.projects: government, social and own projects at every stage.

Written through the normal services, acting as the demo secretariat; does nothing if the demo
association already has projects.
"""

import datetime as dt
import random

from apps.core.access import can
from apps.core.perms import Perm

from . import services
from .choices import ExpenseDecision, ProjectKind, QualityResult, ReportRecipient
from .models import Project
from .selectors import today

PROJECTS = {
    ProjectKind.GOVERNMENT: [
        ("社区心理健康服务进社区", "示范市民政局"),
        ("中小学心理危机干预骨干培训", "示范市教育局"),
        ("退役军人心理疏导服务", "示范市退役军人事务局"),
        ("心理应激事件快速援助热线", "示范市应急管理局"),
    ],
    ProjectKind.SOCIAL: [
        ("清波电力公司员工心理援助计划", "清波电力公司"),
        ("留守儿童成长陪伴计划", "示范市慈善总会"),
        ("银行客服人员减压工作坊", "示范农商银行"),
        ("养老院长者心理关爱", "夕阳红养老院"),
    ],
    ProjectKind.OWN: [
        ("心理援助者沙龙月度督导", ""),
        ("心理健康科普进校园", ""),
        ("会员继续教育读书会", ""),
        ("协会年会暨学术交流", ""),
    ],
}
UNITS = [
    "dept-项目运营部",
    "committee-青少年心理专业委员会",
    "committee-危机干预专业委员会",
    "committee-老年心理专业委员会",
]
LINES = [("专家劳务费", 12000), ("场地与物料", 5000), ("宣传印刷", 3000), ("交通差旅", 2000)]
STAGES = ["planned", "running", "closing", "accepted"]


def seed_demo_projects(units: dict, users: dict) -> int:
    """Seed 12 projects (four of each kind, one at each stage) in the demo association."""
    association = units["association"]
    if Project.objects.filter(unit_path__startswith=association.path).exists():
        return 0
    sec = users.get("secretariat")
    if sec is None:
        return 0
    managers = [users[name] for name in ("secretariat", "membership", "committee", "board") if name in users]
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    day = today()
    count = 0
    for k, (kind, entries) in enumerate(PROJECTS.items()):
        for s, (stage, (name, sponsor)) in enumerate(zip(STAGES, entries, strict=True)):
            unit = units.get(UNITS[(k + s) % len(UNITS)], association)
            start = day - dt.timedelta(days={"planned": -20, "running": 90, "closing": 200, "accepted": 330}[stage])
            scale = rng.choice([1, 2, 3])
            project = services.do_create_project(
                actor=sec, unit=unit, name=name, kind=kind, sponsor=sponsor, manager=managers[count % len(managers)],
                start_date=start, end_date=start + dt.timedelta(days=300), description=f"{name}（演示数据）",
                budget_lines=[(n, a * scale) for n, a in LINES],
            )  # fmt: skip
            count += 1
            milestones = [
                services.do_add_milestone(actor=sec, project=project, title=t, due_date=start + dt.timedelta(days=d))
                for t, d in (("方案设计与启动会", 20), ("中期实施与评估", 150), ("总结与成果汇编", 290))
            ]
            if stage == "planned":
                continue
            project = services.do_advance_project(actor=sec, project=project, version=project.version)
            lines = list(project.lines.order_by("id"))
            for i, line in enumerate(lines[:3]):
                amount = line.amount * rng.choice([3, 4, 5]) // 10
                services.do_record_expense(
                    actor=sec, project=project, line=line, amount=amount,
                    spent_on=start + dt.timedelta(days=10 + i * 15),
                    description=f"{line.name}第一批",
                )  # fmt: skip
            services.do_complete_milestone(
                actor=sec, milestone=milestones[0], done_on=start + dt.timedelta(days=18), note="已召开启动会"
            )
            services.do_record_quality_check(
                actor=sec, project=project, checked_on=min(day, start + dt.timedelta(days=60)), checker=sec,
                findings="活动记录齐全，签到表完整；满意度问卷回收率 86%。",
                result=QualityResult.PASS if stage != "running" else QualityResult.IMPROVE,
            )  # fmt: skip
            recipient = ReportRecipient.SPONSOR if sponsor else ReportRecipient.BOARD
            overdue = services.do_schedule_progress_report(
                actor=sec,
                project=project,
                recipient=recipient,
                period="第一季度",
                due_date=start + dt.timedelta(days=85),
            )
            head = users.get("committee")
            if stage == "running" and head is not None and can(head, Perm.PROJECT_MANAGE, project):
                # Four eyes: the committee head overspends a line, the secretariat approves; a second
                # over-budget expense still awaits the secretariat's decision.
                over = services.do_record_expense(
                    actor=head, project=project, line=lines[3], amount=lines[3].amount + 800, spent_on=day,
                    description="临时增加外地督导差旅", approval_reason="主办方要求增加两场外地督导",
                )  # fmt: skip
                services.do_decide_expense(
                    actor=sec, expense=over, decision=ExpenseDecision.APPROVE, note="理事会已同意，从结余中调剂"
                )
                services.do_record_expense(
                    actor=head, project=project, line=lines[2], amount=lines[2].amount, spent_on=day,
                    description="加印危机干预宣传折页", approval_reason="社区活动需求超出预期",
                )  # fmt: skip
            if stage == "running":
                # The quarterly report is still owed (overdue).
                services.do_schedule_progress_report(
                    actor=sec,
                    project=project,
                    recipient=ReportRecipient.BOARD,
                    period="年中",
                    due_date=day + dt.timedelta(days=14),
                )
                continue
            services.do_submit_progress_report(
                actor=sec, report=overdue, content="项目按计划推进，已完成启动与第一阶段服务。"
            )
            for m in milestones[1:]:
                services.do_complete_milestone(actor=sec, milestone=m, done_on=min(day, m.due_date), note="按期完成")
            project = services.do_advance_project(actor=sec, project=project, version=project.version)
            if stage == "closing":
                continue
            project = services.do_draw_final_accounts(
                actor=sec, project=project, version=project.version, note="结余退回"
            )
            services.do_accept_project(actor=sec, project=project, version=project.version, note="资料齐全，验收合格。")
    return count
