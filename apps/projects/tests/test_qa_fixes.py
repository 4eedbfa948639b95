"""QA fixes on projects: active managers only, labelled pick-lists, no expense before the project starts."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import Assignment
from apps.membership import services as membership
from apps.membership.choices import MemberStatus
from apps.membership.models import Member
from apps.projects import services
from apps.projects.forms import ProjectForm
from apps.projects.models import Expense, Project
from conftest import make_user

from .test_projects import TODAY, Assoc, browser, line, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def assoc(db):
    return Assoc()


@pytest.fixture
def sec(assoc):
    return make_user("pq_sec", assoc.root, "association_secretariat", full_name="秘书长孙")


def enrol(assoc, username, name):
    user = make_user(username, assoc.root, None, full_name=name)
    return membership.do_create_member(
        actor=None, association=assoc.root, user=user, name=name, joined_on=dt.date(2026, 1, 5)
    )


def test_revoked_member_cannot_manage_a_project(assoc, sec):
    """H-PROJ-1, H-MEM-5: a revoked member is not offered as manager and is refused by the service."""
    active, gone = enrol(assoc, "act", "在册负责人"), enrol(assoc, "gone", "撤销负责人")
    Member.objects.filter(pk=gone.pk).update(status=MemberStatus.REVOKED, revoked_on=dt.date(2026, 4, 1))
    Assignment.objects.filter(user=gone.user, role__code="member").delete()
    page = browser(sec).get("/projects/new/").content.decode()
    assert "在册负责人" in page and "撤销负责人" not in page
    with pytest.raises(ValidationError, match="在册"):
        services.do_create_project(
            actor=sec, unit=assoc.dept, name="社区心理服务", kind="own", sponsor="", manager=gone.user,
            start_date=TODAY, end_date=TODAY + dt.timedelta(days=30), budget_lines=(),
        )  # fmt: skip
    assert not Project.objects.exists()
    services.do_create_project(
        actor=sec, unit=assoc.dept, name="社区心理服务", kind="own", sponsor="", manager=active.user,
        start_date=TODAY, end_date=TODAY + dt.timedelta(days=30), budget_lines=(),
    )  # fmt: skip


def test_manager_choices_carry_the_member_number(assoc, sec):
    """H-PROJ-1: two members named 林雨欣 are told apart by their member numbers; staff by their unit."""
    first, second = enrol(assoc, "lin1", "林雨欣"), enrol(assoc, "lin2", "林雨欣")
    from apps.accounts.models import User

    form = ProjectForm(units=None, people=User.objects.filter(pk__in=[first.user_id, second.user_id, sec.pk]))
    labels = {value.value: label for value, label in form.fields["manager"].choices if value}
    assert labels == {
        first.user_id: f"{first.number} 林雨欣",
        second.user_id: f"{second.number} 林雨欣",
        sec.pk: f"秘书长孙（{assoc.root.name}）",
    }


def test_expense_before_project_start_is_refused(assoc, sec):
    """H-PROJ-1: an expense dated before the project's start date is refused in Chinese."""
    project = running(sec, assoc.dept, sec)
    with pytest.raises(ValidationError, match="不能早于项目开始日期") as caught:
        services.do_record_expense(
            actor=sec, project=project, line=line(project), amount="10",
            spent_on=project.start_date - dt.timedelta(days=1), description="讲座劳务",
        )  # fmt: skip
    assert caught.value.error_dict["spent_on"][0].code == "before_start"
    assert not Expense.objects.exists()
    services.do_record_expense(
        actor=sec, project=project, line=line(project), amount="10", spent_on=project.start_date, description="讲座劳务"
    )
    assert Expense.objects.count() == 1
