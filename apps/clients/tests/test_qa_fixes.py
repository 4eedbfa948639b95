"""QA findings on the client register: one client per ID number, landline search and display,
spaced ID numbers, transfer wording and unit codes, merged records."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from apps.accounts.security import REAUTH_AT
from apps.clients import services
from apps.clients.models import Client
from apps.clients.selectors import search_clients
from apps.core.scoping import unscoped
from apps.identity.masks import mask_mobile
from apps.identity.phones import format_phone
from apps.identity.resident_id import validate_resident_id

ID = "330106198506124534"


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def count_with_id(number=ID):
    with unscoped("test assertion"):
        return Client.objects.search_exact("id_number", number).count()


def test_the_same_id_number_is_never_registered_twice_in_scope(tree, counsellor_a):
    """S-CLIENT-1, S-CLIENT-3: an identical resident ID number is the same person — a second client
    with it is refused (message points to the record in scope), even with 仍然登记."""
    existing = services.do_register_client(actor=None, unit=tree.c1, data={"name": "周芳", "id_number": ID})
    with pytest.raises(ValidationError, match=f"来访者 #{existing.pk}"):
        services.do_register_client(actor=counsellor_a, unit=tree.c1, data={"name": "周芳芳", "id_number": ID})
    http = browser(counsellor_a)
    data = {"unit": tree.c1.pk, "name": "周芳芳", "gender": "female", "id_number": ID}
    page = http.post("/clients/new/", data).content.decode()
    assert 'data-testid="duplicates"' in page and "身份证号码相同" in page
    assert 'name="confirm_new"' not in page and "仍然登记" not in page
    response = http.post("/clients/new/", {**data, "confirm_new": "on"})
    assert response.status_code == 200 and f"来访者 #{existing.pk}" in response.content.decode()
    assert count_with_id() == 1


def test_the_same_id_number_in_another_unit_points_to_the_higher_unit(tree, counsellor_a):
    """S-CLIENT-1, X-4: an ID number registered outside the user's scope is refused with a pointer to
    上级单位, revealing nothing of the other record; phone matches may still be overridden."""
    other = services.do_register_client(
        actor=None, unit=tree.c3, data={"name": "吴外单位", "id_number": ID, "phone": "13700000002"}
    )
    http = browser(counsellor_a)
    data = {"unit": tree.c1.pk, "name": "吴某", "gender": "male", "id_number": ID, "confirm_new": "on"}
    page = http.post("/clients/new/", data).content.decode()
    assert "上级单位" in page and f"#{other.pk}" not in page and tree.c3.name not in page
    assert count_with_id() == 1
    with pytest.raises(ValidationError, match="上级单位"):
        services.do_register_client(actor=counsellor_a, unit=tree.c1, data={"name": "吴某", "id_number": ID})
    # changing another client's ID number to the registered one is refused as well
    mine = services.do_register_client(actor=counsellor_a, unit=tree.c1, data={"name": "吴某"})
    with pytest.raises(ValidationError, match="上级单位"):
        services.do_update_client(actor=counsellor_a, client=mine, data={"name": "吴某", "id_number": ID})
    # a phone match alone can still be confirmed as a different person
    phone_only = {"unit": tree.c1.pk, "name": "吴新", "gender": "male", "phone": "13700000002"}
    assert "仍然登记" in http.post("/clients/new/", phone_only).content.decode()
    assert http.post("/clients/new/", {**phone_only, "confirm_new": "on"}).status_code == 302


@pytest.mark.parametrize("typed", ["0571-87654321", "057187654321", "(0571)87654321", "+8657187654321"])
def test_landline_search_normalises_the_query_like_the_stored_index(tree, counsellor_a, typed):
    """S-CLIENT-1, X-2: a landline is found however it is typed, as duplicate detection finds it."""
    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "钱固话", "phone": "0571-8765 4321"})
    assert list(search_clients(counsellor_a, typed)) == [client]
    page = browser(counsellor_a).get("/clients/", {"q": typed}).content.decode()
    assert f"/clients/{client.pk}/" in page


def test_landline_is_shown_in_national_format(tree, street_manager):
    """X-2: a landline shows as 0571-8765 4321 (masked 057*****4321), not in E.164; a mobile as before."""
    assert format_phone("+8657187654321") == "0571-8765 4321"
    assert format_phone("+8613800138000") == "13800138000"
    assert mask_mobile("+8657187654321") == "057*****4321"
    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "钱固话", "phone": "0571-8765 4321"})
    http = browser(street_manager)
    detail = http.get(f"/clients/{client.pk}/").content.decode()
    assert "057*****4321" in detail and "+86" not in detail
    session = http.session
    session[REAUTH_AT] = int(time.time())
    session.save()
    unmask = http.get(f"/clients/{client.pk}/unmask/")
    assert unmask.status_code == 200 and "0571-8765 4321" in unmask.content.decode()


def test_a_spaced_id_number_is_accepted(tree, counsellor_a):
    """X-2: a pasted ID number with spaces (also full-width) fits the input and is validated without them."""
    assert validate_resident_id("330106 19850612 4534").number == ID
    assert validate_resident_id("330106\u300019850612\u30004534").number == ID
    http = browser(counsellor_a)
    page = http.get("/clients/new/").content.decode()
    assert 'name="id_number" maxlength="24"' in page
    response = http.post(
        "/clients/new/", {"unit": tree.c1.pk, "name": "周芳", "gender": "female", "id_number": "330106 19850612 4534"}
    )
    assert response.status_code == 302 and count_with_id() == 1


def test_transfer_message_and_unit_code_match(tree, street_manager):
    """S-CLIENT-1: the unit code is matched without spaces and case-insensitively; a transfer inside
    the user's own scope does not claim the record is out of sight."""
    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "钱多多"})
    http = browser(street_manager)
    response = http.post(
        f"/clients/{client.pk}/transfer/", {"to_unit_code": " t-c2 ", "reason": "搬家到二社区"}, follow=True
    )
    page = response.content.decode()
    with unscoped("test assertion"):
        assert Client.objects.get(pk=client.pk).unit_id == tree.c2.pk
    assert "仍可查看" in page and "不再能查看" not in page


def test_merged_record_cannot_be_edited(tree, street_manager):
    """S-CLIENT-3: a record merged into another shows no 修改 / 查看完整号码 and the service refuses edits."""
    keep = services.do_register_client(actor=None, unit=tree.c1, data={"name": "周芳"})
    duplicate = services.do_register_client(actor=None, unit=tree.c1, data={"name": "周芳", "phone": "13800138001"})
    services.do_merge_clients(actor=street_manager, keep=keep, duplicate=duplicate, reason="同一人重复登记")
    page = browser(street_manager).get(f"/clients/{duplicate.pk}/").content.decode()
    assert "已合并到" in page and "查看完整号码" not in page and f"/clients/{duplicate.pk}/edit/" not in page
    with pytest.raises(ValidationError, match="已合并"):
        services.do_update_client(actor=street_manager, client=duplicate, data={"name": "周芳"})
