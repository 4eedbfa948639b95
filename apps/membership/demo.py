"""Demo data of the association: about 130 members, bodies and positions, dues, applications, conduct.

``seed_demo_membership(units, users)`` is called by ``seed_demo`` with its units and demo logins.
The demo logins get sensible records: ``secretariat`` is the secretary-general, ``board`` a
director, ``membership`` heads the membership department, ``committee`` chairs the crisis
intervention committee, ``member`` is an ordinary member of the youth committee.
"""

import datetime as dt
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.accounts.models import Assignment, Role, User
from apps.core.scoping import unscoped

from . import selectors, services
from .choices import BodyKind, CertificateKind, PositionKind, Tier
from .models import Certificate

TERM_FIRST = dt.date(2024, 7, 1)  # the board's terms run five years from 1 July 2024
TERM_YEARS = 5


def current_term(today: dt.date) -> tuple[dt.date, dt.date]:
    """The five-year term that contains ``today`` (the demo's positions are always current)."""
    start = TERM_FIRST.replace(year=TERM_FIRST.year + (today.year - TERM_FIRST.year) // TERM_YEARS * TERM_YEARS)
    if start > today:
        start = start.replace(year=start.year - TERM_YEARS)
    return start, start.replace(year=start.year + TERM_YEARS) - dt.timedelta(days=1)


RATES = {Tier.PARTICIPANT: "200", Tier.BUILDER: "300", Tier.LEADER: "500"}
EMPLOYERS = [
    "市第一医院",
    "实验中学",
    "区社工站",
    "市康宁医院",
    "外国语学校",
    "街道社区卫生服务中心",
    "某科技公司",
    "师范学院",
]


def _photo(rng) -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    colour = (rng.randint(60, 200), rng.randint(90, 200), rng.randint(120, 220))
    image = Image.new("RGB", (240, 320), (236, 242, 248))
    draw = ImageDraw.Draw(image)
    draw.ellipse((70, 50, 170, 160), fill=colour)
    draw.rounded_rectangle((40, 170, 200, 320), radius=40, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def seed_demo_membership(units: dict, users: dict) -> int:
    """Create the association's membership records; return the number of members."""
    from apps.core.management.commands.seed_demo import demo_id_number, demo_name

    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    today = timezone.localdate()
    term_start, term_end = current_term(today)
    association = units["association"]
    departments = {key.removeprefix("dept-"): unit for key, unit in units.items() if key.startswith("dept-")}
    committees = [unit for key, unit in units.items() if key.startswith("committee-")]
    bodies = services.ensure_bodies(association)
    roles = {r.code: r for r in Role.objects.filter(code__in=["board_member", "member", "membership_officer"])}

    def make_member(user, name, joined, male=True):
        return services.do_create_member(
            actor=None,
            association=association,
            user=user,
            name=name,
            gender="male" if male else "female",
            id_number=demo_id_number(rng, rng.randint(1965, 1998), male),
            phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            employer=rng.choice(EMPLOYERS),
            joined_on=joined,
        )

    def appoint(member, kind, unit=None, filed=False):
        return services.do_appoint(
            actor=None,
            member=member,
            kind=kind,
            unit=unit,
            term_start=term_start,
            term_end=term_end,
            filing_date=min(term_start + dt.timedelta(days=45), today) if filed else None,
            filing_number=f"民社备〔{term_start.year}〕{rng.randint(10, 99)}号" if filed else "",
        )

    members = []
    # --- the demo logins ---------------------------------------------------------------------------
    logins = {}
    for username, joined in [
        ("secretariat", dt.date(2015, 2, 10)),
        ("board", dt.date(2016, 5, 3)),
        ("membership", dt.date(2017, 9, 1)),
        ("committee", dt.date(2018, 3, 20)),
        ("member", dt.date(2024, 6, 6)),
    ]:
        user = users.get(username)
        if user is not None:
            logins[username] = make_member(user, user.full_name, joined, male=rng.random() < 0.5)
            members.append(logins[username])
    if "secretariat" in logins:
        appoint(logins["secretariat"], PositionKind.SECRETARY_GENERAL, filed=True)
        appoint(logins["secretariat"], PositionKind.STANDING_DIRECTOR)
    if "board" in logins:
        appoint(logins["board"], PositionKind.DIRECTOR)
    if "membership" in logins:
        appoint(logins["membership"], PositionKind.DEPARTMENT_HEAD, unit=departments.get("会员工作部"))
    crisis = next((c for c in committees if "危机" in c.name), committees[0])
    youth = next((c for c in committees if "青少年" in c.name), committees[0])
    if "committee" in logins:
        appoint(logins["committee"], PositionKind.COMMITTEE_CHAIR, unit=crisis)
        appoint(logins["committee"], PositionKind.DIRECTOR)
        services.do_join_committee(actor=None, member=logins["committee"], committee=crisis)
    if "member" in logins:
        services.do_join_committee(actor=None, member=logins["member"], committee=youth)

    # --- about 125 more members -------------------------------------------------------------------
    plan = (
        [PositionKind.PRESIDENT]
        + [PositionKind.VICE_PRESIDENT] * 2
        + [PositionKind.DEPUTY_SECRETARY_GENERAL] * 2
        + [PositionKind.STANDING_DIRECTOR] * 5
        + [PositionKind.DIRECTOR] * 14
        + [PositionKind.DEPARTMENT_HEAD] * 3
        + [PositionKind.DEPARTMENT_STAFF] * 9
        + [None] * 90
    )
    board_kinds = {
        PositionKind.PRESIDENT,
        PositionKind.VICE_PRESIDENT,
        PositionKind.STANDING_DIRECTOR,
        PositionKind.DIRECTOR,
    }
    other_departments = [u for name, u in departments.items() if name not in ("会员工作部", "秘书处")]
    staff_departments = [u for name, u in departments.items() if name != "秘书处"]
    chairs = [c for c in committees if c != crisis]
    for i, kind in enumerate(plan, start=1):
        male = rng.random() < 0.4
        name = demo_name(rng, male)
        user = User(username=f"hy-demo-{i:03d}", full_name=name, unit=association)
        user.set_unusable_password()
        user.save()
        if kind in board_kinds:
            Assignment.objects.create(user=user, unit=association, role=roles["board_member"])
        joined = dt.date(rng.randint(2015, today.year), rng.randint(1, 12), rng.randint(1, 28))
        joined = min(joined, today - dt.timedelta(days=3))
        member = make_member(user, name, joined, male)
        members.append(member)
        if kind == PositionKind.DEPARTMENT_HEAD:
            appoint(member, kind, unit=other_departments[(i - 1) % len(other_departments)])
        elif kind == PositionKind.DEPARTMENT_STAFF:
            appoint(member, kind, unit=staff_departments[i % len(staff_departments)])
        elif kind is not None:
            appoint(member, kind, filed=kind in (PositionKind.PRESIDENT, PositionKind.VICE_PRESIDENT))
        if kind == PositionKind.STANDING_DIRECTOR and chairs:
            appoint(member, PositionKind.COMMITTEE_CHAIR, unit=chairs.pop())
        for committee in rng.sample(committees, rng.choice([0, 1, 1, 2, 2])):
            services.do_join_committee(actor=None, member=member, committee=committee)
        if rng.random() < 0.6:
            expires = today + dt.timedelta(days=rng.choice([20, 45, 400, 900, 1500]))
            services.do_add_certificate(
                actor=None,
                member=member,
                data={
                    "kind": rng.choice(
                        [
                            CertificateKind.COUNSELLOR,
                            CertificateKind.COUNSELLOR,
                            CertificateKind.SOCIAL_WORKER,
                            CertificateKind.PHYSICIAN,
                            CertificateKind.TEACHER,
                        ]
                    ),  # fmt: skip
                    "number": f"{rng.randint(10**9, 10**10 - 1)}",
                    "issuer": rng.choice(["人力资源和社会保障部", "浙江省卫生健康委员会", "民政部"]),
                    "issued_on": expires - dt.timedelta(days=5 * 365),
                    "expires_on": expires,
                },
            )
    if "member" in logins:
        services.do_add_certificate(
            actor=None,
            member=logins["member"],
            data={
                "kind": CertificateKind.COUNSELLOR,
                "number": "2024330100123",
                "issuer": "人力资源和社会保障部",
                "issued_on": dt.date(2021, 4, 1),
                "expires_on": today + dt.timedelta(days=30),
            },
        )
    for member in members[:40]:
        services.do_set_member_photo(actor=None, member=member, photo=_photo(rng))

    # --- dues: rates for last year and this year; most paid last year, about 70 % this year ---------
    receipt = 0
    for year in (today.year - 1, today.year):
        for tier, amount in RATES.items():
            services.do_set_dues_rate(actor=None, association=association, year=year, tier=tier, amount=amount)
        rows = selectors.dues_status(association, year, [m for m in members if m.joined_on.year <= year])
        share = 0.9 if year < today.year else 0.7
        for row in rows:
            if rng.random() < share or row["member"] == logins.get("member"):
                receipt += 1
                paid_on = dt.date(year, rng.randint(1, 3), rng.randint(1, 28))
                paid_on = min(paid_on, today)
                services.do_record_payment(
                    actor=None,
                    member=row["member"],
                    year=year,
                    amount=row["due"],
                    paid_on=max(paid_on, row["member"].joined_on),
                    method=rng.choice(["wechat", "transfer", "alipay", "cash"]),
                    receipt_number=f"HF{year}-{receipt:04d}",
                )

    # --- applications at every stage -------------------------------------------------------------------
    board_users = selectors.current_holders(association, BodyKind.BOARD)
    board_users = [u for u in board_users if Assignment.objects.filter(user=u, role=roles["board_member"]).exists()]
    secretariat = users.get("secretariat")
    officer = users.get("membership")

    def apply(seq, name=None, certificate=None, male=None):
        male = rng.random() < 0.5 if male is None else male
        data = {
            "charter_accepted": True,
            "name": name or demo_name(rng, male),  # the given name fits the sex in the ID number
            "id_number": demo_id_number(rng, rng.randint(1975, 2000), male),
            "phone": f"139{rng.randint(10000000, 99999999)}",
            "employer": rng.choice(EMPLOYERS),
            "education": "bachelor",
            "major": "应用心理学",
            "experience": "参加过社区心理健康讲座志愿服务。",
            "specialties": rng.choice(["青少年情绪", "婚姻家庭", "危机干预", "老年心理"]),
        }
        certificates = [certificate] if certificate else []
        application, _ = services.do_submit_application(
            association=association,
            data=data,
            photo=_photo(rng),
            certificates=certificates,
            committees=rng.sample(committees, 1),
        )
        return application

    counsellor = {"kind": CertificateKind.COUNSELLOR, "number": "2019330100777", "issuer": "人力资源和社会保障部",
                  "expires_on": today + dt.timedelta(days=900)}  # fmt: skip
    for n in range(3):
        apply(n)  # waiting for first review
    returned = apply(3, "周晓东", male=True)
    services.do_review_application(
        actor=officer, application=returned, passed=False, note="身份证复印件不清晰，请补正。"
    )
    for n, votes in enumerate([(2, 0, 0), (1, 1, 1)]):
        voting = apply(10 + n)
        services.do_review_application(
            actor=officer, application=voting, passed=True, note="材料齐全，提交理事会表决。"
        )
        choices = ["approve"] * votes[0] + ["reject"] * votes[1] + ["abstain"] * votes[2]
        for voter, choice in zip(board_users[1:], choices, strict=False):
            services.do_cast_ballot(actor=voter, application=voting, choice=choice)
    admitted = apply(20, "林雨欣", male=False)
    services.do_review_application(actor=officer, application=admitted, passed=True, note="")
    # Closed votes reach the quorum (2/3 of the board entitled to vote, H-MEM-2): the whole board
    # but the demo login "board" votes, who is left to try the ballot page on the open votes.
    for voter in board_users[1:]:
        services.do_cast_ballot(actor=voter, application=admitted, choice="approve")
    services.do_close_vote(actor=secretariat, application=admitted)
    rejected = apply(21, "吴志强", male=True)
    services.do_review_application(actor=officer, application=rejected, passed=True, note="")
    for n, voter in enumerate(board_users[1:]):
        services.do_cast_ballot(
            actor=voter, application=rejected, choice=["approve", "reject", "reject", "abstain"][n % 4]
        )
    services.do_close_vote(actor=secretariat, application=rejected)
    simplified = apply(22, "何静", certificate=counsellor, male=False)
    with unscoped("演示数据：取申请人本人提交的执业资格证书"):
        licence = Certificate.objects.filter(application=simplified).first()
    services.do_admit_simplified(actor=officer, application=simplified, licence=licence)

    # --- conduct: rewards, an assessment, a complaint, one revocation --------------------------------
    # Last year's rewards and assessment are decided in January (never after today, e.g. on 1 January).
    for member in rng.sample(members[5:], 6):
        services.do_record_conduct(
            actor=None, member=member, kind="reward", title=f"{today.year - 1} 年度优秀志愿者",
            detail="全年志愿服务时长超过 100 小时。", decided_on=min(dt.date(today.year, 1, 15), today),
        )  # fmt: skip
    services.do_record_conduct(
        actor=None, member=members[10], kind="assessment", title=f"{today.year - 1} 年度会员考核：合格",
        detail="", decided_on=min(dt.date(today.year, 1, 20), today),
    )  # fmt: skip
    target = members[-1]
    services.do_register_complaint(
        actor=None, member=members[-2], complainant="来访者家属", contact="", principle="responsibility",
        description="咨询预约多次临时取消，未提前告知。", received_on=today - dt.timedelta(days=5),
    )  # fmt: skip
    complaint = services.do_register_complaint(
        actor=None, member=target, complainant="来访者本人", contact="", principle="respect",
        description="在社交媒体上讨论来访者个案细节，可识别来访者身份。", received_on=today - dt.timedelta(days=60),
    )  # fmt: skip
    services.do_decide_complaint(
        actor=None, complaint=complaint, upheld=True, decision="经伦理工作小组核实，违反尊重与保密原则，投诉成立。"
    )
    services.do_revoke_membership(
        actor=None,
        member=target,
        body=bodies[BodyKind.BOARD],
        reason="ethics_complaint",
        complaint=complaint,
        meeting_date=today - dt.timedelta(days=20),
        resolution_number=f"理决〔{today.year}〕3号",
        votes_for=18,
        votes_against=2,
        votes_abstain=3,
        detail="理事会会议表决，撤销其会员资格。",
    )
    return len(members) + 2
