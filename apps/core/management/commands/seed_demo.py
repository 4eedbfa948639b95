"""Load demo data: a plausible district and an association, or a whole city for benchmarks.

``seed_demo`` (default ``--scale district``) is idempotent: it does nothing if the demo district is
there already. ``--scale city`` builds 13 districts, 190 streets, 3,000 communities and about
30,000 staff accounts in bulk, for ``make bench``; on PostgreSQL it then adds 1,000,000 clients and
10,000,000 service records by COPY / INSERT … SELECT (see ``build_city_records`` below).
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
    # The district centre's counsellor serves every community (the "负责咨询师" of warnings outside 钱咨询's two).
    ("centre_counsellor", "孔咨询", "counsellor", "district"),
    ("assistant", "辅导员小何", "counselling_assistant", "community-1-1"),
    ("volunteer", "志愿者小吴", "volunteer", "community-1-1"),
    ("psychiatrist", "郑医生", "psychiatrist", "health"),
    ("archivist", "档案员老林", "archivist", "district"),
    ("evaluator", "评估员周", "evaluator", "district"),
    ("secretariat", "秘书长孙", "association_secretariat", "association"),
    ("membership", "会员部李", "membership_officer", "association"),  # membership data is kept at the root
    ("board", "理事王", "board_member", "association"),
    ("committee", "危机委主任赵", "committee_head", "committee-危机干预专业委员会"),
    ("member", "会员陈", "member", "committee-青少年心理专业委员会"),
]
EXTRA_ASSIGNMENTS = [("counsellor", "counsellor", "community-2-1")]


class Command(BaseCommand):
    help = "载入演示数据（--scale district 演示区与协会；--scale city 全市规模，用于性能测试）。"

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["district", "city"], default="district")
        parser.add_argument(
            "--part",
            choices=list(DEMO_PARTS),
            default="all",
            help="只载入一部分业务数据（测试用）：service 社会心理服务，association 协会，base 仅单位与账号。",
        )

    def handle(self, *args, scale, part="all", **options):
        if scale == "city":
            self.seed_city()
        else:
            self.seed_district(part)

    # --- the demo district and association -------------------------------------------------------
    @transaction.atomic
    def seed_district(self, part: str = "all"):
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
        seed_demo_modules(units, users, part)
        self.stdout.write(
            self.style.SUCCESS(
                f"已载入演示区与协会：{len(units)} 个单位，{len(users)} 个演示账号，{clients} 名来访者。"
            )
        )

    # --- city scale, in bulk ---------------------------------------------------------------------
    def seed_city(self):
        if OrgUnit.objects.filter(code=CITY_ROOT_CODE).exists():
            self.stdout.write("全市规模单位与账号已存在，跳过。")
        else:
            started = time.monotonic()
            with transaction.atomic():
                counts = build_city()
            self.stdout.write(
                self.style.SUCCESS(
                    f"已生成全市规模数据：{counts['units']} 个单位，{counts['users']} 个账号，"
                    f"用时 {time.monotonic() - started:.1f} 秒。"
                )
            )
        if connection.vendor != "postgresql":
            self.stdout.write("全市规模的来访者与服务记录只在 PostgreSQL 上生成（COPY），跳过。")
            return
        started = time.monotonic()
        added = build_city_records(log=self.stdout.write)
        if added:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已生成全市规模来访者与服务记录：{sum(added.values())} 行，"
                    f"用时 {time.monotonic() - started:.1f} 秒。"
                )
            )
        else:
            self.stdout.write("全市规模来访者与服务记录已存在，跳过。")


# The demo's two halves: a browser test that walks one of them seeds only that half (the whole demo
# takes ~20 s on SQLite; ``make run`` always loads all of it).
DEMO_PARTS = {
    "all": ("service", "association"),
    "service": ("service",),
    "association": ("association",),
    "base": (),
}


def seed_demo_modules(units: dict, users: dict, part: str = "all") -> None:
    """Let each module add its demo records, in dependency order (assessments before warnings, members
    before the association's meetings, projects and services)."""
    from apps.alerts.demo import seed_demo_alerts
    from apps.appointments.demo import seed_demo_appointments
    from apps.assessments.demo import seed_demo_assessments
    from apps.assistance.demo import seed_demo_assistance
    from apps.casework.demo import seed_demo_casework
    from apps.governance.demo import seed_demo_governance
    from apps.membership.demo import seed_demo_membership
    from apps.outreach.demo import seed_demo_outreach
    from apps.projects.demo import seed_demo_projects
    from apps.screening.demo import seed_demo_screening

    halves = {
        "service": (
            seed_demo_screening,
            seed_demo_casework,
            seed_demo_outreach,
            seed_demo_appointments,
            seed_demo_assessments,
            seed_demo_alerts,
        ),
        "association": (seed_demo_membership, seed_demo_governance, seed_demo_projects, seed_demo_assistance),
    }
    for half in DEMO_PARTS[part]:
        for seed in halves[half]:
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
# Given names by sex, so a demo person's name matches the sex their ID number records (issue 13 item 10).
GIVEN_MALE = ["建国", "志强", "伟", "磊", "浩然", "晓东", "俊宇", "子轩", "国平", "文斌"]
GIVEN_FEMALE = ["秀英", "桂兰", "海燕", "芳", "静", "敏", "婷婷", "子涵", "雨欣", "春梅"]
GIVEN = GIVEN_MALE + GIVEN_FEMALE


def demo_name(rng, male: bool) -> str:
    """A make-believe Chinese name whose given name fits the person's sex."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)


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
                "name": demo_name(rng, male),
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


# --- city scale: clients and service records, in bulk (``make bench``) ---------------------------
#
# ``seed_demo --scale city`` adds CITY_CLIENTS clients spread at random over the city's community
# rooms and CITY_SERVICE_RECORDS service records (screening records, interventions, home visits)
# spread over those clients. Speed comes from PostgreSQL itself: clients go in by COPY, records by
# INSERT … SELECT generate_series, with the tables' secondary indexes dropped and rebuilt in the
# same transaction and foreign-key triggers off (session_replication_role = replica) while they
# load — every id written comes from a row read in the same statement, so nothing can dangle.
#
# Encryption is real: every client's name, ID number, phone and address is encrypted on its own by
# apps.vault (two worker processes), and the blind indexes are computed with the index fields'
# own normalisers, so searches find real rows. Service-record free text (intervention
# descriptions, visit records, screening findings) is a pool of SERVICE_TEXT_POOL distinct
# ciphertexts per column, encrypted once by apps.vault and reused cyclically: encrypting ten
# million notes one by one would take longer than the rest of the build together.
# Idempotent: each table is skipped once it holds its count.

CITY_CLIENTS = 1_000_000
CITY_SERVICE_RECORDS = {
    "screening_screeningrecord": 3_000_000,
    "outreach_intervention": 4_000_000,
    "outreach_homevisit": 3_000_000,
}
SERVICE_TEXT_POOL = 1000
CLIENT_CHUNK = 20_000
# Characters of given names by sex (a name built from them matches the sex in the ID number).
CITY_GIVEN_CHARS = {
    True: "伟强磊军洋勇杰涛明超刚建国志文斌晓东浩然俊宇",
    False: "芳娜敏静丽艳娟秀霞桂英玉兰萍红海燕春梅子涵雨欣佳怡",
}
CITY_REGION_CODES = ["330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112"]
CITY_MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "186",
]
_city_units: list = []
_name_cache: dict = {}


def build_city_records(log=print) -> dict:
    """Fill the city with clients and service records (each table once); return what was added."""
    from apps.clients.models import Client

    city = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    added = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM clients_client WHERE unit_path LIKE %s", [city.path + "%"])
        have = cursor.fetchone()[0]
    if have < CITY_CLIENTS:
        started = time.monotonic()
        added["clients_client"] = _copy_city_clients(Client, city, CITY_CLIENTS - have)
        log(f"来访者：写入 {added['clients_client']} 名，用时 {time.monotonic() - started:.1f} 秒。")
    for table, target in CITY_SERVICE_RECORDS.items():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - table names are constants above
            have = cursor.fetchone()[0]
        if have >= target:
            continue
        started = time.monotonic()
        added[table] = _insert_service_records(table, target - have, city)
        log(f"{table}：写入 {added[table]} 条，用时 {time.monotonic() - started:.1f} 秒。")
    return added


def _init_client_worker(units):
    _city_units[:] = units


def _city_client_chunk(task):
    """Rows for clients ``start`` … ``start + count - 1`` of the city, encrypted (runs in a worker)."""
    import datetime
    import random

    from stdnum.cn import ric

    from apps.clients.choices import Education, Gender, PoliticalStatus
    from apps.clients.models import Client
    from apps.identity.names import pinyin_keys
    from apps.vault.crypto import blind_index, encrypt_text

    start, count = task
    meta = Client._meta
    label = {name: meta.get_field(name).vault_label for name in ("name", "id_number", "phone", "address")}
    norm = {name: meta.get_field(f"{name}_index").normalizer for name in ("name", "id_number", "phone")}
    educations = [e for e in Education.values if e != Education.UNKNOWN]
    politics = [PoliticalStatus.MASSES] * 8 + [PoliticalStatus.CPC, PoliticalStatus.CYL]
    rng = random.Random(2026 * 1_000_003 + start)  # noqa: S311 - demo data, reproducible
    epoch = datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC)
    born_from = datetime.date(1940, 1, 1)
    rows = []
    for i in range(start, start + count):
        unit_id, unit_path, tenant_id, unit_name = _city_units[rng.randrange(len(_city_units))]
        # Unique by construction: (birth day, region, serial) encodes i.
        day, rest = i % 25_567, i // 25_567
        birth = born_from + datetime.timedelta(days=day)
        male = rng.random() < 0.5
        chars = CITY_GIVEN_CHARS[male]
        name = rng.choice(SURNAMES) + "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))
        if name not in _name_cache:
            _name_cache[name] = (blind_index(name, norm["name"]), pinyin_keys(name)[1][:30])
        name_index, initials = _name_cache[name]
        serial = f"{rest // len(CITY_REGION_CODES):02d}{rng.choice('13579' if male else '02468')}"
        body = f"{CITY_REGION_CODES[rest % len(CITY_REGION_CODES)]}{birth:%Y%m%d}{serial}"
        id_number = body + ric.calc_check_digit(body + "0")
        mobile = f"{CITY_MOBILE_PREFIXES[i % len(CITY_MOBILE_PREFIXES)]}{(i * 7919 + 4_242) % 10**8:08d}"
        phone = "+86" + mobile
        address = f"{unit_name[:-7]}{rng.randint(1, 40)}幢{rng.randint(1, 6)}单元{rng.randint(101, 1802)}室"
        created = epoch + datetime.timedelta(seconds=i * 150)
        rows.append(
            (
                unit_id,
                unit_path,
                tenant_id,
                encrypt_text(name, label["name"]),
                name_index,
                initials,
                Gender.MALE if male else Gender.FEMALE,
                birth,
                encrypt_text(id_number, label["id_number"]),
                blind_index(id_number, norm["id_number"]),
                encrypt_text(phone, label["phone"]),
                blind_index(phone, norm["phone"]),
                encrypt_text(address, label["address"]),
                "",
                "汉族",
                "",
                rng.choice(educations),
                rng.choice(politics),
                "",
                created,
                created,
                1,
            )
        )
    return rows


CLIENT_COPY_COLUMNS = (
    "unit_id, unit_path, tenant_id, name, name_index, name_initials, gender, birth_date, id_number, "
    "id_number_index, phone, phone_index, address, employer, ethnicity, native_place, education, "
    "political_status, religion, created_at, updated_at, version"
)


def _copy_city_clients(Client, city, count: int) -> int:
    import multiprocessing

    units = list(
        OrgUnit.objects.filter(path__startswith=city.path, kind=UnitKind.COMMUNITY_ROOM)
        .order_by("id")
        .values_list("id", "path", "tenant_id", "name")
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM clients_client")
        first = cursor.fetchone()[0]
    tasks = [(first + s, min(CLIENT_CHUNK, count - s)) for s in range(0, count, CLIENT_CHUNK)]
    connection.close()  # the workers are forked: they must not share this connection
    with multiprocessing.get_context("fork").Pool(2, _init_client_worker, (units,)) as pool:
        with transaction.atomic(), connection.cursor() as cursor:
            dropped = _drop_secondary_indexes(cursor, "clients_client")
            cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.cursor.copy(f"COPY clients_client ({CLIENT_COPY_COLUMNS}) FROM STDIN") as copy:
                for rows in pool.imap(_city_client_chunk, tasks):
                    for row in rows:
                        copy.write_row(row)
            _recreate_indexes(cursor, dropped)
    _vacuum("clients_client")
    return count


def _drop_secondary_indexes(cursor, table: str) -> list[str]:
    """Drop the indexes that back no constraint (rebuilt after the load); return their definitions."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [table],
    )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def _recreate_indexes(cursor, definitions: list[str]) -> None:
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    for definition in definitions:
        cursor.execute(definition)


def _vacuum(table: str) -> None:
    """VACUUM ANALYZE after a bulk load: hint bits, visibility map (index-only scans), statistics."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")


def _service_text_pool(label: str, texts: list[str]) -> list[tuple[str, int, str]]:
    from apps.vault.crypto import encrypt_text

    return [
        (label, n, encrypt_text(f"{texts[n % len(texts)]}（第{n + 1}次记录）", label)) for n in range(SERVICE_TEXT_POOL)
    ]


SERVICE_RECORD_SQL = {
    "screening_screeningrecord": (
        "unit_id, unit_path, client_id, screened_on, source, finding, risk_level, created_at, "
        "import_batch_id, screened_by_id",
        "c.unit_id, c.unit_path, c.id, (t.at AT TIME ZONE 'Asia/Shanghai')::date, "
        "(ARRAY['routine','routine','routine','mopai'])[1 + g %% 4], p.ct, "
        "(ARRAY['low','low','low','low','low','low','medium','medium','high','low'])[1 + g %% 10], t.at, NULL, NULL",
        "screening.screeningrecord.finding",
    ),
    "outreach_intervention": (
        "client_id, unit_id, unit_path, kind, happened_at, description, created_at, case_id, recorded_by_id",
        "c.id, c.unit_id, c.unit_path, (ARRAY['care_comfort_guidance','healthy_activities','health_lecture',"
        "'practical_help','accompanied_consolation','psychiatric_referral','family_communication',"
        "'other_measures'])[1 + g %% 8], t.at, p.ct, t.at, NULL, NULL",
        "outreach.intervention.description",
    ),
    "outreach_homevisit": (
        "client_id, unit_id, unit_path, kind, planned_for, interval_days, preparation_notes, visited_at, "
        "family_present, record, status, created_at, case_id, next_visit_id, recorded_by_id",
        "c.id, c.unit_id, c.unit_path, (ARRAY['planned','planned','ad_hoc'])[1 + g %% 3], "
        "(t.at AT TIME ZONE 'Asia/Shanghai')::date, NULL, '', t.at, '', p.ct, 'done', t.at, NULL, NULL, NULL",
        "outreach.homevisit.record",
    ),
}
SERVICE_TEXTS = [
    "情绪较前平稳，睡眠改善，家属配合良好",
    "反映近期工作压力大，已给予放松训练指导",
    "家庭关系紧张，约定下次与家属共同面谈",
    "无自伤念头，继续按计划随访",
    "经济困难，已协助联系民政救助",
    "社区活动参与积极，建议保持",
]


def _insert_service_records(table: str, count: int, city) -> int:
    """INSERT … SELECT ``count`` records spread over the city's clients, dated 2021–2026."""
    columns, select, label = SERVICE_RECORD_SQL[table]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_city_client ON COMMIT DROP AS "
            "SELECT (row_number() OVER (ORDER BY id) - 1)::int AS rn, id, unit_id, unit_path "
            "FROM clients_client WHERE unit_path LIKE %s AND merged_into_id IS NULL",
            [city.path + "%"],
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_city_client (rn)")
        cursor.execute("SELECT COUNT(*) FROM bench_city_client")
        clients = cursor.fetchone()[0]
        cursor.execute("CREATE TEMP TABLE bench_city_text (label text, n int, ct text) ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_city_text (label, n, ct) FROM STDIN") as copy:
            for row in _service_text_pool(label, SERVICE_TEXTS):
                copy.write_row(row)
        dropped = _drop_secondary_indexes(cursor, table)
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Record g goes to a pseudo-random client (a multiplicative hash of g), at a time that grows with g.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {select} "  # noqa: S608 - constants above
            "FROM generate_series(0, %s - 1) AS g "
            "CROSS JOIN LATERAL (SELECT timestamptz '2021-01-01 08:00+08' "
            "+ interval '1 second' * (g::float8 * 157680000 / %s) AS at) t "
            "JOIN bench_city_client c ON c.rn = (g::bigint * 2654435761 %% 4294967291) %% %s "
            "JOIN bench_city_text p ON p.n = g %% %s",
            [count, count, clients, SERVICE_TEXT_POOL],
        )
        _recreate_indexes(cursor, dropped)
    _vacuum(table)
    return count
