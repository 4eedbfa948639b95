"""An association with two specialty committees, its people, and a second association next door.

示范协会 (association)
  秘书处 (department)         secretariat 秘书长
  青少年专委会 (committee)    head_youth 主任, counsellor_x / counsellor_y (members)
  危机干预专委会 (committee)  head_crisis 主任, crisis_member (member)
邻市协会 (another association)  other_secretariat
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as HttpClient

from apps.accounts.models import Assignment, Role, User
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SH)


def make_user(username, unit, role_code=None, full_name=""):
    """A user without a password hash (tests log in with force_login; Argon2 is slow on purpose)."""
    user = User.objects.create(username=username, full_name=full_name or username, unit=unit, password="!")
    if role_code:
        Assignment.objects.create(user=user, unit=unit, role=Role.objects.get(code=role_code))
    return user


class Association:
    def __init__(self):
        unit = do_create_unit
        self.root = unit(actor=None, parent=None, kind=UnitKind.ASSOCIATION, name="示范心理援助协会", code="A-ROOT")
        self.office = unit(actor=None, parent=self.root, kind=UnitKind.DEPARTMENT, name="秘书处", code="A-OFFICE")
        self.youth = unit(actor=None, parent=self.root, kind=UnitKind.COMMITTEE, name="青少年专委会", code="A-YOUTH")
        self.crisis = unit(actor=None, parent=self.root, kind=UnitKind.COMMITTEE, name="危机干预专委会", code="A-CRI")
        self.other = unit(actor=None, parent=None, kind=UnitKind.ASSOCIATION, name="邻市心理援助协会", code="B-ROOT")
        self.other_committee = unit(
            actor=None, parent=self.other, kind=UnitKind.COMMITTEE, name="邻市青少年专委会", code="B-YOUTH"
        )
        self.secretariat = make_user("sec", self.root, "association_secretariat", full_name="秘书长孙")
        self.head_youth = make_user("head_youth", self.youth, "committee_head", full_name="青委主任")
        self.head_crisis = make_user("head_crisis", self.crisis, "committee_head", full_name="危委主任")
        self.counsellor_x = make_user("cx", self.youth, "member", full_name="心理师小许")
        self.counsellor_y = make_user("cy", self.youth, "member", full_name="心理师小杨")
        self.crisis_member = make_user("cm", self.crisis, "member", full_name="危机会员小陈")
        self.other_secretariat = make_user("osec", self.other, "association_secretariat", full_name="邻市秘书长")
        self.other_member = make_user("om", self.other_committee, "member", full_name="邻市会员")


@pytest.fixture
def assoc(db):
    return Association()


def assign_role(user, unit, role_code):
    return Assignment.objects.create(user=user, unit=unit, role=Role.objects.get(code=role_code))


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http
