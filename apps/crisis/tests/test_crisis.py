"""Crisis expressions in remote inquiries and receptions (S-FLOW-3, S-WARN-2)."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.casework.services import do_record_reception
from apps.clients.services import do_register_client
from apps.core.scoping import unscoped
from apps.crisis import services
from apps.crisis.models import CrisisExpression, CrisisFlag, CrisisHandler
from apps.notifications.models import Delivery, Notification
from apps.outreach.services import do_record_inquiry
from conftest import make_user


@pytest.fixture(autouse=True)
def shipped(db):
    """The shipped list as the data migration leaves it (a transactional test elsewhere may have flushed it)."""
    importlib.import_module("apps.crisis.migrations.0002_seed_expressions").seed(django_apps, None)


@pytest.fixture
def worker(tree):
    return make_user("worker_c1", tree.c1, "community_worker", full_name="专干甲")


@pytest.fixture
def manager_c1(tree):
    return make_user("manager_c1", tree.c1, "community_manager", full_name="社区负责人甲")


@pytest.fixture
def manager_c2(tree):
    return make_user("manager_c2", tree.c2, "community_manager", full_name="社区负责人乙")


@pytest.fixture
def client_a(tree):
    return do_register_client(actor=None, unit=tree.c1, data={"name": "张三丰"})


def record(actor, unit, question, **extra):
    received = timezone.now() - dt.timedelta(minutes=30)
    return do_record_inquiry(actor=actor, unit=unit, channel="phone", received_at=received, question=question, **extra)


def flags():
    with unscoped("test assertion"):
        return list(CrisisFlag.objects.order_by("id"))


def inbox(user):
    return list(Notification.objects.filter(recipient=user, template="crisis_expression"))


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def test_inquiry_with_crisis_phrase_is_flagged_and_handler_notified(tree, worker, manager_c1, counsellor_a):
    """S-FLOW-3, S-WARN-2: "活着没意思" in an inquiry flags it at once and tells the designated crisis handler."""
    services.do_designate_handler(actor=manager_c1, unit=tree.c1, handler=counsellor_a)
    question = "最近总觉得活着没意思，晚上睡不着。"
    inquiry = record(worker, tree.c1, question)
    [flag] = flags()
    assert flag.inquiry_id == inquiry.pk and flag.reception_id is None and flag.unit_id == tree.c1.pk
    assert flag.phrases == ["活着没意思"] and flag.fields == ["咨询内容"]
    assert [e.phrase for e in flag.expressions.all()] == ["活着没意思"]
    assert flag.notified_designated and list(flag.notified.all()) == [counsellor_a]
    # the flag names the expression, never copies the client's words
    assert not any("睡不着" in str(getattr(flag, f.attname)) for f in CrisisFlag._meta.concrete_fields)
    [note] = inbox(counsellor_a)
    assert note.url == f"/outreach/inquiries/{inquiry.pk}/" and "活着没意思" in note.body and "睡不着" not in note.body
    assert inbox(manager_c1) == [] and inbox(worker) == []


def test_matching_tolerates_spaces_punctuation_and_full_width(tree, worker):
    """S-FLOW-3: spaces, full-width spaces, punctuation and full-width letters do not hide an expression."""
    assert services.normalize("不　想 活！！") == "不想活"
    assert services.normalize("ＳＯＳ 想-死") == "sos想死"
    record(worker, tree.c1, "我真的 不 想　活 了……")
    record(worker, tree.c1, "想过割·腕")
    assert [f.phrases for f in flags()] == [["不想活"], ["割腕"]]


def test_benign_text_raises_no_flag(tree, worker, manager_c1):
    """S-FLOW-3: an ordinary question raises no flag and no notification."""
    record(worker, tree.c1, "孩子最近不愿上学，家长该怎么沟通？")
    assert flags() == []
    assert not Notification.objects.filter(template="crisis_expression").exists()


def test_without_designation_the_unit_managers_are_told(tree, worker, manager_c1, street_manager):
    """S-WARN-2: no handler designated → the unit's own managers; a unit without any → the nearest level above."""
    record(worker, tree.c1, "想自杀")
    assert [len(inbox(manager_c1)), len(inbox(street_manager))] == [1, 0]
    assert not flags()[0].notified_designated
    record(make_user("worker_c2", tree.c2, "community_worker"), tree.c2, "想自杀")  # c2 has no manager of its own
    assert len(inbox(street_manager)) == 1


def test_nothing_is_sent_outside_the_unit(tree, worker, manager_c1, manager_c2, counsellor_b, outsider):
    """S-WARN-2: sibling units, their handler and other trees get nothing; no SMS or e-mail is queued."""
    services.do_designate_handler(actor=manager_c2, unit=tree.c2, handler=counsellor_b)
    record(worker, tree.c1, "不如死了算了")
    [flag] = flags()
    assert [u.pk for u in flag.notified.all()] == [manager_c1.pk]
    for person in (manager_c2, counsellor_b, outsider):
        assert inbox(person) == []
    assert not Delivery.objects.filter(notification__template="crisis_expression").exclude(channel="inapp").exists()


def test_flag_and_who_saw_the_banner_are_audited(tree, worker, manager_c1, counsellor_a, counsellor_b):
    """S-WARN-2: the flag is written to the audit log; opening the record shows the banner and logs who saw it."""
    inquiry = record(worker, tree.c1, "他说想跳楼")
    [flag] = flags()
    created = AuditEntry.objects.filter(object_type="crisis.crisisflag", object_id=str(flag.pk), action="create")
    assert created.count() == 1 and created.get().actor_id == worker.pk
    page = browser(counsellor_a).get(f"/outreach/inquiries/{inquiry.pk}/")
    text = page.content.decode()
    assert 'data-testid="crisis-banner"' in text and "跳楼" in text
    seen = AuditEntry.objects.filter(object_type="crisis.crisisflag", object_id=str(flag.pk), action="read_sensitive")
    assert list(seen.values_list("actor_id", flat=True)) == [counsellor_a.pk]
    assert browser(counsellor_b).get(f"/outreach/inquiries/{inquiry.pk}/").status_code == 404
    assert seen.count() == 1


def test_banner_links_to_tagging_the_client(tree, worker, client_a):
    """S-WARN-2: one click from the banner to the "tag key person" page of the inquiry's client."""
    inquiry = record(worker, tree.c1, "吃了安眠药", client=client_a)
    text = browser(worker).get(f"/outreach/inquiries/{inquiry.pk}/").content.decode()
    assert f'href="/alerts/clients/{client_a.pk}/tag/"' in text


def test_reception_self_report_is_flagged(tree, counsellor_a, manager_c1, client_a):
    """S-FLOW-3: a reception whose self-report holds a crisis expression is flagged; the page shows the banner."""
    reception = do_record_reception(
        actor=counsellor_a, client=client_a, data={"reason": "失眠，有轻生念头", "told_flow_rights": True}
    )
    [flag] = flags()
    assert (
        flag.reception_id == reception.pk and flag.client_id == client_a.pk and flag.fields == ["自述症状（咨询原因）"]
    )
    assert len(inbox(manager_c1)) == 1
    text = browser(counsellor_a).get(f"/casework/receptions/{reception.pk}/").content.decode()
    assert 'data-testid="crisis-banner"' in text and "轻生" in text


def test_staff_notes_of_a_reception_do_not_flag(tree, counsellor_a, client_a):
    """S-FLOW-3: the counsellor's own analysis ("排除自杀风险") is not the client's words."""
    do_record_reception(
        actor=counsellor_a, client=client_a,
        data={"reason": "考试焦虑", "preliminary_analysis": "排除自杀风险", "told_flow_rights": True},
    )  # fmt: skip
    assert flags() == []


def test_editing_the_list_works_and_is_permission_checked(tree, district_admin, worker, outsider):
    """S-FLOW-3: the warning-rule administrator adds and switches off expressions; others are refused."""
    before = CrisisExpression.objects.count()
    for actor, unit in ((worker, tree.c1), (outsider, tree.c1)):
        with pytest.raises(ValidationError) as refused:
            services.do_add_expression(actor=actor, unit=unit, phrase="撑不下去")
        assert "unit" in refused.value.message_dict
    assert CrisisExpression.objects.count() == before
    assert browser(worker).get("/crisis/expressions/").status_code == 403
    assert browser(worker).post("/crisis/expressions/", {"unit": tree.c1.pk, "phrase": "撑不下去"}).status_code == 403

    response = browser(district_admin).post("/crisis/expressions/", {"unit": tree.s1.pk, "phrase": "撑 不 下 去"})
    assert response.status_code == 302
    added = CrisisExpression.objects.get(unit=tree.s1)
    assert (added.phrase, added.normalized) == ("撑 不 下 去", "撑不下去")
    assert AuditEntry.objects.filter(object_type="crisis.crisisexpression", object_id=str(added.pk)).exists()
    record(worker, tree.c1, "真的撑不下去了")
    record(make_user("worker_c3", tree.c3, "community_worker"), tree.c3, "真的撑不下去了")  # not under s1
    assert [f.unit_id for f in flags()] == [tree.c1.pk]

    browser(district_admin).post(f"/crisis/expressions/{added.pk}/toggle/")
    added.refresh_from_db()
    assert not added.is_active
    record(worker, tree.c1, "真的撑不下去了")
    assert len(flags()) == 1


def test_bad_expressions_are_refused_and_change_nothing(tree, district_admin):
    """S-FLOW-3: one character, duplicates of an applicable expression and shipped ones are refused."""
    before = CrisisExpression.objects.count()
    for phrase, message in (("死", "至少 2 个字"), ("！！", "请填写"), ("自　杀", "已在适用于该单位的词表中")):
        with pytest.raises(ValidationError) as refused:
            services.do_add_expression(actor=district_admin, unit=tree.district, phrase=phrase)
        assert message in refused.value.message_dict["phrase"][0]
    shipped = CrisisExpression.objects.get(unit=None, phrase="自杀")
    with pytest.raises(ValidationError):
        services.do_set_expression_active(actor=district_admin, expression=shipped, active=False)
    assert CrisisExpression.objects.count() == before and CrisisExpression.objects.get(pk=shipped.pk).is_active
    response = browser(district_admin).post("/crisis/expressions/", {"unit": tree.district.pk, "phrase": "死"})
    assert response.status_code == 200 and "至少 2 个字" in response.content.decode()


def test_designating_the_handler_is_the_unit_managers_job(tree, worker, manager_c1, counsellor_a, counsellor_b):
    """S-WARN-2: only a manager of the unit designates; the handler must hold client access over the unit."""
    with pytest.raises(ValidationError):
        services.do_designate_handler(actor=worker, unit=tree.c1, handler=counsellor_a)
    with pytest.raises(ValidationError) as refused:
        services.do_designate_handler(actor=manager_c1, unit=tree.c1, handler=counsellor_b)
    assert "handler" in refused.value.message_dict
    assert not CrisisHandler.objects.exists()
    assert browser(worker).get(f"/crisis/handlers/{tree.c1.pk}/").status_code == 403
    response = browser(manager_c1).post(f"/crisis/handlers/{tree.c1.pk}/", {"handler": counsellor_a.pk})
    assert response.status_code == 302
    assert CrisisHandler.objects.get(unit=tree.c1).handler == counsellor_a
    response = browser(manager_c1).post(f"/crisis/handlers/{tree.c1.pk}/", {"handler": ""})
    assert response.status_code == 302 and not CrisisHandler.objects.exists()
    assert AuditEntry.objects.filter(object_type="crisis.crisishandler", action="delete").exists()


def test_a_street_designation_covers_its_communities(tree, worker, street_manager, manager_c1):
    """S-WARN-2: a unit without its own designation inherits its nearest ancestor's handler."""
    handler = make_user("street_counsellor", tree.s1, "counsellor", full_name="街道咨询师")
    services.do_designate_handler(actor=street_manager, unit=tree.s1, handler=handler)
    record(worker, tree.c1, "想结束生命")
    assert len(inbox(handler)) == 1 and inbox(manager_c1) == []
