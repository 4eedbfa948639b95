"""Fixtures: two associations, their officers and board, and helpers to make applicants and members."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.membership import services
from apps.membership.choices import PositionKind
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit
from conftest import make_user

ID_NUMBERS = [
    "11010519491231002X",
    "110105194912310029",
]


def png(width=200, height=260, color=(90, 140, 200)) -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def resident_id(seq: int, birth: str = "19850312") -> str:
    """A checksum-valid resident ID number, distinct per ``seq``."""
    from stdnum.cn import ric

    body = f"330102{birth}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


class Association:
    def __init__(self, code: str, name: str):
        self.root = do_create_unit(actor=None, parent=None, kind=UnitKind.ASSOCIATION, name=name, code=code)
        self.membership_dept = do_create_unit(
            actor=None, parent=self.root, kind=UnitKind.DEPARTMENT, name=f"{name}会员工作部", code=f"{code}-D1"
        )
        self.committees = [
            do_create_unit(
                actor=None, parent=self.root, kind=UnitKind.COMMITTEE, name=f"{name}{n}", code=f"{code}-C{i}"
            )
            for i, n in enumerate(["青少年心理专业委员会", "危机干预专业委员会", "艺术治疗专业委员会"], start=1)
        ]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def assoc(db):
    return Association("T-ASSOC", "测试心理援助协会")


@pytest.fixture
def other_assoc(db):
    return Association("T-ASSOC2", "外市心理援助协会")


def new_member(association: Association, username: str, name: str | None = None, joined=None):
    user = make_user(username, association.root, None, full_name=name or username)
    return services.do_create_member(
        actor=None,
        association=association.root,
        user=user,
        name=name or username,
        joined_on=joined or dt.date(2026, 1, 10),
    )


@pytest.fixture
def secretariat(assoc):
    return make_user("sec", assoc.root, "association_secretariat", full_name="秘书长孙")


@pytest.fixture
def officer(assoc):
    return make_user("officer", assoc.root, "membership_officer", full_name="会员部李")


@pytest.fixture
def board(assoc):
    """Three current directors, each with the board_member role at the association root."""
    people = []
    for i in range(3):
        # the board_member role comes first, so it is the active grant
        user = make_user(f"director{i}", assoc.root, "board_member", full_name=f"理事{i}")
        member = services.do_create_member(
            actor=None, association=assoc.root, user=user, name=f"理事{i}", joined_on=dt.date(2025, 1, 10)
        )
        services.do_appoint(actor=None, member=member, kind=PositionKind.DIRECTOR, term_start=dt.date(2025, 1, 1))
        people.append(member.user)
    return people


def application_data(seq: int = 1, **extra) -> dict:
    data = {
        "charter_accepted": True,
        "name": "申请人张三",
        "id_number": resident_id(seq),
        "phone": "13800138000",
        "email": "zhang@example.com",
        "employer": "某中学",
        "education": "bachelor",
        "experience": "从事心理健康教育十年。",
    }
    data.update(extra)
    return data


def submit(association: Association, seq: int = 1, certificates=None, committees=None, **extra):
    return services.do_submit_application(
        association=association.root,
        data=application_data(seq, **extra),
        photo=png(),
        certificates=certificates or [],
        committees=committees or [],
    )
