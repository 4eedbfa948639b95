"""Load demo data: a plausible district and an association, or a whole city for benchmarks.

``seed_demo`` (default ``--scale district``) is idempotent: it does nothing if the demo district is
there already. ``--scale city`` builds 13 districts, 190 streets, 3,000 communities and about
30,000 staff accounts in bulk, for ``make bench``.
"""

import time

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, transaction

from apps.accounts.models import Assignment, Role, User
from apps.orgs.choices import KIND_LEVEL, UnitKind
from apps.orgs.models import OrgUnit
from apps.orgs.services import do_create_unit

DEMO_PASSWORD = "Xinyuan@2026"  # noqa: S105 - published demo password, printed by make run
DEMO_ROOT_CODE = "DEMO-D"
CITY_ROOT_CODE = "CITY"

STREETS = {
    "湖滨街道": ["东坡社区", "青年路社区", "涌金社区"],
    "清波街道": ["清河坊社区", "劳动路社区", "柳翠井社区"],
    "北山街道": ["保俶塔社区", "曙光社区", "宝石社区"],
}
ASSOCIATION_DEPARTMENTS = ["秘书处", "会员工作部", "项目运营部", "事业宣传部", "人事财务部"]
ASSOCIATION_COMMITTEES = [
    "青少年心理专业委员会",
    "职业心理专业委员会",
    "婚姻家庭专业委员会",
    "老年心理专业委员会",
    "危机干预专业委员会",
    "艺术治疗专业委员会",
]

# (username, full name, role, unit key) — one login per role, plus a second street manager and a
# counsellor who works in two communities (to show the unit switcher).
DEMO_LOGINS = [
    ("sysadmin", "沈系统", "system_admin", "district"),
    ("secadmin", "安安全", "security_admin", "district"),
    ("auditor", "申审计", "audit_admin", "district"),
    ("district", "区主任", "district_admin", "district"),
    ("street", "湖街长", "street_manager", "street-1"),
    ("street2", "清街长", "street_manager", "street-2"),
    ("community", "东主任", "community_manager", "community-1-1"),
    ("worker", "邵专干", "community_worker", "community-1-1"),
    ("counsellor", "钱咨询", "counsellor", "community-1-1"),
    ("assistant", "辅导员小何", "counselling_assistant", "community-1-1"),
    ("volunteer", "志愿者小吴", "volunteer", "community-1-1"),
    ("psychiatrist", "郑医生", "psychiatrist", "health"),
    ("archivist", "档案员老林", "archivist", "district"),
    ("evaluator", "评估员周", "evaluator", "district"),
    ("secretariat", "秘书长孙", "association_secretariat", "association"),
    ("membership", "会员部李", "membership_officer", "dept-会员工作部"),
    ("board", "理事王", "board_member", "association"),
    ("committee", "危机委主任赵", "committee_head", "committee-危机干预专业委员会"),
    ("member", "会员陈", "member", "committee-青少年心理专业委员会"),
]
EXTRA_ASSIGNMENTS = [("counsellor", "counsellor", "community-2-1")]


class Command(BaseCommand):
    help = "载入演示数据（--scale district 演示区与协会；--scale city 全市规模，用于性能测试）。"

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["district", "city"], default="district")

    def handle(self, *args, scale, **options):
        if scale == "city":
            self.seed_city()
        else:
            self.seed_district()

    # --- the demo district and association -------------------------------------------------------
    @transaction.atomic
    def seed_district(self):
        if OrgUnit.objects.filter(code=DEMO_ROOT_CODE).exists():
            self.stdout.write("演示数据已存在，跳过。")
            return
        units = build_demo_units()
        roles = {r.code: r for r in Role.objects.all()}
        users = {}
        password = make_password(DEMO_PASSWORD)
        for username, full_name, role, unit_key in DEMO_LOGINS:
            user = User.objects.create(username=username, full_name=full_name, unit=units[unit_key], password=password)
            users[username] = user
            Assignment.objects.create(user=user, unit=units[unit_key], role=roles[role])
        for username, role, unit_key in EXTRA_ASSIGNMENTS:
            Assignment.objects.create(user=users[username], unit=units[unit_key], role=roles[role])
        clients = seed_demo_clients(units)
        seed_demo_modules(units, users)
        self.stdout.write(
            self.style.SUCCESS(
                f"已载入演示区与协会：{len(units)} 个单位，{len(users)} 个演示账号，{clients} 名来访者。"
            )
        )

    # --- city scale, in bulk ---------------------------------------------------------------------
    def seed_city(self):
        if OrgUnit.objects.filter(code=CITY_ROOT_CODE).exists():
            self.stdout.write("全市规模数据已存在，跳过。")
            return
        started = time.monotonic()
        with transaction.atomic():
            counts = build_city()
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成全市规模数据：{counts['units']} 个单位，{counts['users']} 个账号，"
                f"用时 {time.monotonic() - started:.1f} 秒。"
            )
        )


def seed_demo_modules(units: dict, users: dict) -> None:
    """Let each service module add its demo records (screening, cases, outreach, appointments)."""
    from apps.appointments.demo import seed_demo_appointments
    from apps.casework.demo import seed_demo_casework
    from apps.outreach.demo import seed_demo_outreach
    from apps.screening.demo import seed_demo_screening

    for seed in (seed_demo_screening, seed_demo_casework, seed_demo_outreach, seed_demo_appointments):
        seed(units, users)


def build_demo_units() -> dict[str, OrgUnit]:
    """Create the demo district tree and the association tree through the normal service."""
    units: dict[str, OrgUnit] = {}

    def add(key, parent, kind, name, code):
        units[key] = do_create_unit(actor=None, parent=parent, kind=kind, name=name, code=code)
        return units[key]

    district = add("district", None, UnitKind.DISTRICT_CENTRE, "示范区社会心理服务指导中心", DEMO_ROOT_CODE)
    add("leadership", district, UnitKind.LEADERSHIP_GROUP, "示范区社会心理服务体系建设领导小组", "DEMO-LG")
    for s, (street_name, communities) in enumerate(STREETS.items(), start=1):
        street = add(f"street-{s}", district, UnitKind.STREET_STATION, f"{street_name}社会心理服务站", f"DEMO-S{s}")
        for c, community in enumerate(communities, start=1):
            add(
                f"community-{s}-{c}",
                street,
                UnitKind.COMMUNITY_ROOM,
                f"{community}社会心理服务室",
                f"DEMO-S{s}C{c}",
            )
    add("health", units["street-1"], UnitKind.HEALTH_SECTION, "湖滨街道社区卫生服务中心心理科", "DEMO-H1")
    add("enterprise", units["street-2"], UnitKind.COUNSELLING_ROOM, "清波电力公司职工心理咨询室", "DEMO-E1")

    association = add("association", None, UnitKind.ASSOCIATION, "示范市心理援助协会", "DEMO-ASSOC")
    for i, name in enumerate(ASSOCIATION_DEPARTMENTS, start=1):
        add(f"dept-{name}", association, UnitKind.DEPARTMENT, name, f"DEMO-ASSOC-D{i}")
    for i, name in enumerate(ASSOCIATION_COMMITTEES, start=1):
        add(f"committee-{name}", association, UnitKind.COMMITTEE, name, f"DEMO-ASSOC-C{i}")
    return units


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = [
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "海燕",
    "伟",
    "芳",
    "静",
    "敏",
    "磊",
    "婷婷",
    "浩然",
    "子涵",
    "雨欣",
    "晓东",
    "春梅",
]


def demo_id_number(rng, birth_year: int, male: bool) -> str:
    """A checksum-valid resident ID number for demo people (Hangzhou Shangcheng region code)."""
    from stdnum.cn import ric

    body = f"330102{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(10, 99)}"
    body += str(rng.choice([1, 3, 5, 7, 9]) if male else rng.choice([0, 2, 4, 6, 8]))
    return body + ric.calc_check_digit(body + "0")


def seed_demo_clients(units: dict, per_community: int = 6) -> int:
    """Register a few plausible clients in every community room, through the normal service."""
    import random

    from apps.clients.models import ServiceTargetCategory
    from apps.clients.services import do_register_client

    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    categories = list(ServiceTargetCategory.objects.all())
    count = 0
    for key, unit in units.items():
        if not key.startswith("community-"):
            continue
        for _ in range(per_community):
            male = rng.random() < 0.5
            data = {
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "id_number": demo_id_number(rng, rng.randint(1950, 2008), male),
                "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                "address": f"{unit.name[:-7]}{rng.randint(1, 30)}幢{rng.randint(1, 6)}单元{rng.randint(101, 1202)}室",
                "ethnicity": "汉族",
                "education": rng.choice(["junior", "senior", "college", "bachelor"]),
            }
            do_register_client(actor=None, unit=unit, data=data, categories=rng.sample(categories, rng.randint(1, 2)))
            count += 1
    return count


def build_city(districts: int = 13, streets: int = 190, communities: int = 3000, staff_per_community: int = 10):
    """Bulk-create a city tree with explicit ids so paths are known before insert."""
    next_id = (OrgUnit.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    rows: list[OrgUnit] = []

    def unit(parent, kind, name, code):
        nonlocal next_id
        pk = next_id
        next_id += 1
        row = OrgUnit(
            pk=pk,
            parent_id=parent.pk if parent else None,
            tenant_id=parent.tenant_id if parent else pk,
            kind=kind,
            level=KIND_LEVEL.get(kind, ""),
            name=name,
            code=code,
            path=f"{parent.path if parent else '/'}{pk}/",
            depth=parent.depth + 1 if parent else 0,
        )
        rows.append(row)
        return row

    city = unit(None, UnitKind.CITY, "示范市社会心理服务管理中心", CITY_ROOT_CODE)
    district_rows = [
        unit(city, UnitKind.DISTRICT_CENTRE, f"第{d + 1:02d}区社会心理服务指导中心", f"CITY-D{d + 1:02d}")
        for d in range(districts)
    ]
    street_rows = [
        unit(
            district_rows[s % districts],
            UnitKind.STREET_STATION,
            f"第{s % districts + 1:02d}区第{s // districts + 1:02d}街道社会心理服务站",
            f"CITY-S{s + 1:03d}",
        )
        for s in range(streets)
    ]
    community_rows = [
        unit(
            street_rows[c % streets],
            UnitKind.COMMUNITY_ROOM,
            f"{street_rows[c % streets].name[:-7]}第{c // streets + 1:02d}社区社会心理服务室",
            f"CITY-C{c + 1:04d}",
        )
        for c in range(communities)
    ]
    OrgUnit.objects.bulk_create(rows, batch_size=1000)

    roles = {r.code: r for r in Role.objects.all()}
    password = make_password(DEMO_PASSWORD)
    next_user = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    users, assignments = [], []
    staff_roles = ["community_manager", "community_worker", "counsellor", "counselling_assistant", "volunteer"]

    def staff(unit_row, role_code):
        nonlocal next_user
        user = User(
            pk=next_user, username=f"u{next_user}", full_name=f"员工{next_user}", unit_id=unit_row.pk, password=password
        )
        next_user += 1
        users.append(user)
        assignments.append(Assignment(user_id=user.pk, unit_id=unit_row.pk, role=roles[role_code]))

    for d in district_rows:
        staff(d, "district_admin")
    for s in street_rows:
        staff(s, "street_manager")
    for c in community_rows:
        for i in range(staff_per_community):
            staff(c, staff_roles[i % len(staff_roles)])
    User.objects.bulk_create(users, batch_size=2000)
    Assignment.objects.bulk_create(assignments, batch_size=2000)
    _reset_sequences([OrgUnit, User])
    return {"units": len(rows), "users": len(users)}


def _reset_sequences(models):
    """After inserting explicit ids, move PostgreSQL sequences past them (SQLite needs nothing)."""
    sql = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)
