"""Client register rules: minors and guardians, duplicates and merge, transfer between units."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.clients import services
from apps.clients.models import Client, Guardian
from apps.clients.selectors import search_clients
from apps.core.scoping import unscoped
from conftest import make_user

GUARDIAN = {"name": "李母", "relationship": "母亲", "phone": "13700137000", "consent": True}


def child_birth(years: int) -> datetime.date:
    today = timezone.localdate()  # day capped at 28: on 02-29 the same day ``years`` ago may not exist
    return datetime.date(today.year - years, today.month, min(today.day, 28)) - datetime.timedelta(days=30)


def test_child_under_14_needs_a_consenting_guardian(tree, counsellor_a):
    """S-CLIENT-4: a client under 14 cannot be saved without a guardian and the guardian's consent."""
    data = {"name": "李小宝", "birth_date": child_birth(10)}
    with pytest.raises(ValidationError, match="监护人"):
        services.do_register_minor_aware(actor=counsellor_a, unit=tree.c1, data=data)
    with pytest.raises(ValidationError, match="监护人同意"):
        services.do_register_minor_aware(
            actor=counsellor_a, unit=tree.c1, data=data, guardian={**GUARDIAN, "consent": False}
        )
    with unscoped("assert nothing written"):
        assert not Client.objects.exists()
    client = services.do_register_minor_aware(actor=counsellor_a, unit=tree.c1, data=data, guardian=GUARDIAN)
    guardian = Guardian.objects.get(client=client)
    assert guardian.consent_given_at and guardian.consent_notice_version
    adult = services.do_register_minor_aware(
        actor=counsellor_a, unit=tree.c1, data={"name": "成年人", "birth_date": child_birth(30)}
    )
    assert not Guardian.objects.filter(client=adult).exists()


def test_registration_page_refuses_a_child_without_guardian(tree, counsellor_a):
    http = HttpClient()
    http.force_login(counsellor_a)
    response = http.post(
        "/clients/new/",
        {"unit": tree.c1.pk, "name": "王小明", "gender": "male", "birth_date": child_birth(9).isoformat()},
    )
    assert "请填写监护人姓名" in response.content.decode()


def test_duplicates_by_id_phone_and_name_birth(tree, counsellor_a, counsellor_b):
    """S-CLIENT-3: duplicates are detected by ID number, phone, or name + birth date."""
    existing = services.do_register_client(
        actor=None,
        unit=tree.c1,
        data={"name": "周芳", "id_number": "330106198506124534", "phone": "13800138001"},
    )
    by_id = services.find_duplicates(counsellor_a, {"id_number": "330106198506124534"})
    assert [(c.pk, label, in_scope) for c, label, in_scope in by_id] == [(existing.pk, "身份证号码", True)]
    assert services.find_duplicates(counsellor_a, {"phone": "138-0013-8001"})[0][1] == "联系电话"
    same = services.find_duplicates(counsellor_a, {"name": "周芳", "birth_date": existing.birth_date})
    assert same[0][1] == "姓名和出生日期"
    # someone in a sibling community sees the match but not as in scope
    assert services.find_duplicates(counsellor_b, {"phone": "13800138001"})[0][2] is False


def test_registration_page_warns_before_a_duplicate(tree, counsellor_a):
    services.do_register_client(actor=None, unit=tree.c1, data={"name": "周芳", "phone": "13800138001"})
    http = HttpClient()
    http.force_login(counsellor_a)
    data = {"unit": tree.c1.pk, "name": "周芳芳", "gender": "female", "phone": "13800138001"}
    page = http.post("/clients/new/", data).content.decode()
    assert 'data-testid="duplicates"' in page and "联系电话相同" in page
    assert http.post("/clients/new/", {**data, "confirm_new": "on"}).status_code == 302


def test_merge_keeps_every_record_and_the_history(tree, counsellor_a):
    """S-CLIENT-1: merging duplicates keeps every record's history."""
    keep = services.do_register_client(actor=None, unit=tree.c1, data={"name": "陈静"})
    duplicate = services.do_register_client(actor=None, unit=tree.c1, data={"name": "陈静"})
    Guardian.objects.create(client=duplicate, name="陈父", relationship="父亲", phone="13700137001")
    services.do_merge_clients(actor=counsellor_a, keep=keep, duplicate=duplicate, reason="同一人重复登记")
    assert Guardian.objects.get().client_id == keep.pk
    assert list(search_clients(counsellor_a)) == [keep]
    with unscoped("check the duplicate row is kept"):
        assert Client.objects.get(pk=duplicate.pk).merged_into_id == keep.pk
    assert AuditEntry.objects.filter(object_id=str(duplicate.pk), purpose__startswith="合并到").exists()
    with pytest.raises(ValidationError):
        services.do_merge_clients(actor=counsellor_a, keep=keep, duplicate=keep, reason="同一个")


def test_transfer_moves_access_to_the_new_unit(tree, counsellor_a):
    """S-CLIENT-1: a client who moves is handed over; the old unit loses access from that moment."""
    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "赵磊"})
    receiver = make_user("c3_counsellor", tree.c3, "counsellor")
    assert list(search_clients(receiver)) == []
    services.do_transfer_client(actor=counsellor_a, client=client, to_unit=tree.c3, reason="搬家到三社区")
    assert list(search_clients(counsellor_a)) == []
    assert list(search_clients(receiver)) == [client]
    assert client.transfers.get().from_unit == tree.c1
    with pytest.raises(ValidationError):
        services.do_transfer_client(actor=counsellor_a, client=client, to_unit=tree.c1, reason="再移回去")
    with pytest.raises(ValidationError, match="本体系"):
        services.do_transfer_client(actor=receiver, client=client, to_unit=tree.other, reason="跨体系")


def test_registration_form_pdf_has_the_appendix_c_layout_in_chinese(tree, street_manager, tmp_path):
    """S-CLIENT-1, X-3: the registration form prints to PDF with correct Chinese glyphs, audited."""
    import subprocess

    client = services.do_register_client(
        actor=None,
        unit=tree.c1,
        data={"name": "欧阳娜娜", "id_number": "330106198506124534", "phone": "13800138000", "ethnicity": "汉族"},
    )
    http = HttpClient()
    http.force_login(street_manager)
    response = http.get(f"/clients/{client.pk}/registration-form.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    labels = "来访者情况登记表 出生年月 文化程度 政治面貌 宗教信仰 工作单位 联系电话 自我症状 咨询或药物 初步诊断分析"
    for label in labels.split() + ["咨询效果", "下一步打算", "接待人", "接待时间"]:
        assert label in text, label
    assert "欧阳娜娜" in text and "13800138000" in text and "1985年6月" in text
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", pages, re.M), pages
    assert AuditEntry.objects.filter(action="export", object_id=str(client.pk)).exists()


def test_transfer_page_takes_the_receiving_units_code(tree, counsellor_a):
    """S-CLIENT-1, S-ORG-2: the transfer form names the receiving unit by code and lists no other units."""
    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "钱多多"})
    http = HttpClient()
    http.force_login(counsellor_a)
    page = http.get(f"/clients/{client.pk}/").content.decode()
    assert tree.c3.name not in page and tree.s2.name not in page
    response = http.post(f"/clients/{client.pk}/transfer/", {"to_unit_code": "NOPE", "reason": "搬家"}, follow=True)
    assert "没有找到该编码的单位" in response.content.decode()
    response = http.post(f"/clients/{client.pk}/transfer/", {"to_unit_code": tree.c3.code, "reason": "搬家"})
    assert response.status_code == 302
    assert http.get(f"/clients/{client.pk}/").status_code == 404


def test_registration_form_pdf_carries_the_latest_reception(tree, street_manager, tmp_path):
    """S-FLOW-3, S-CLIENT-1: the per-visit half of Appendix C comes from the client's latest reception."""
    import subprocess

    from apps.casework.models import Reception

    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "孙悟空"})
    Reception.objects.create(
        client=client,
        unit=tree.c1,
        unit_path=tree.c1.path,
        receptionist=street_manager,
        received_at=timezone.now(),
        reason="近来失眠多梦",
        next_step_plan="两周后复诊",
        told_flow_rights=True,
    )
    http = HttpClient()
    http.force_login(street_manager)
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(http.get(f"/clients/{client.pk}/registration-form.pdf").content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "近来失眠多梦" in text and "两周后复诊" in text and street_manager.full_name in text
