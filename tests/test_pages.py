"""Staff pages: Chinese messages for bad input, nothing changed, fixed query counts, 404 outside scope."""

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.orgs.models import OrgUnit
from conftest import PASSWORD, make_user


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def test_login_page_and_wrong_password(tree, counsellor_a):
    """X-1: the login page is Chinese; a wrong password gets a Chinese message."""
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and "登录" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "counsellor_a", "password": "wrong"})
    assert "登录名或密码不正确" in response.content.decode()
    response = client.post("/accounts/login/", {"username": "counsellor_a", "password": PASSWORD})
    assert response.status_code == 302


def test_home_shows_units_and_no_grant_message(tree, counsellor_a, nobody, client_for):
    page = client_for(counsellor_a).get("/").content.decode()
    assert "一社区室 · 心理咨询师" in page
    assert "尚未被分配" in client_for(nobody).get("/").content.decode()


def test_english_is_available(tree, counsellor_a, client_for):
    """X-1: zh-Hans by default, English available."""
    client = client_for(counsellor_a)
    assert "退出登录" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Log out" in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "community_room", "name": "", "code": "X1"}, "该字段是必填项"),
        ({"kind": "community_room", "name": "长" * 101, "code": "X1"}, "不超过 100 字符"),
        ({"kind": "nonsense", "name": "新室", "code": "X1"}, "选择一个有效的选项"),
        ({"kind": "community_room", "name": "新室", "code": "中文编码"}, "只能包含字母"),
        ({"kind": "street_station", "name": "新站", "code": "X2"}, "不能设在"),
    ],
)
def test_create_unit_form_refuses_bad_input(tree, street_manager, client_for, data, message):
    count = OrgUnit.objects.count()
    response = client_for(street_manager).post(f"/orgs/{tree.c1.pk}/new/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert OrgUnit.objects.count() == count


def test_move_form_refuses_cycle_and_stale_version(tree, district_admin, client_for):
    client = client_for(district_admin)
    response = client.post(f"/orgs/{tree.s1.pk}/move/", {"new_parent": tree.c1.pk, "version": 1})
    assert "选择一个有效的选项" in response.content.decode()  # own descendants are not even offered
    client.post(f"/orgs/{tree.c1.pk}/edit/", {"name": "改一", "code": "T-C1", "version": 1})
    response = client.post(f"/orgs/{tree.c1.pk}/edit/", {"name": "改二", "code": "T-C1", "version": 1})
    assert "已被他人修改" in response.content.decode()
    assert OrgUnit.objects.get(pk=tree.c1.pk).name == "改一"


def test_deactivate_via_page(tree, district_admin, client_for):
    client = client_for(district_admin)
    response = client.post(f"/orgs/{tree.s2.pk}/deactivate/", {"version": 1}, follow=True)
    assert "还有启用中的下级单位" in response.content.decode()
    assert OrgUnit.objects.get(pk=tree.s2.pk).is_active


def test_user_create_and_bad_input(tree, street_manager, client_for):
    client = client_for(street_manager)
    response = client.post(
        "/accounts/users/new/",
        {"username": "x", "full_name": "", "unit": tree.c1.pk, "password": "short"},
    )
    body = response.content.decode()
    assert "该字段是必填项" in body
    response = client.post(
        "/accounts/users/new/",
        {"username": "good_name", "full_name": "新同事", "unit": tree.c1.pk, "password": "short"},
    )
    assert "密码太短" in response.content.decode()
    assert not User.objects.filter(username="good_name").exists()
    response = client.post(
        "/accounts/users/new/",
        {"username": "good_name", "full_name": "新同事", "unit": tree.c1.pk, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(username="good_name").unit == tree.c1


def test_disable_user_ends_their_session(tree, street_manager, counsellor_a, client_for):
    """Disabling a user ends their sessions on the next request."""
    victim = client_for(counsellor_a)
    assert victim.get("/").status_code == 200
    client_for(street_manager).post(f"/accounts/users/{counsellor_a.pk}/disable/", {"version": 1})
    response = victim.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_out_of_scope_pages_are_404(tree, street_manager, outsider, client_for):
    client = client_for(street_manager)
    assert client.get(f"/orgs/{tree.s2.pk}/").status_code == 404
    assert client.get(f"/orgs/{tree.other.pk}/").status_code == 404
    assert client.get(f"/accounts/users/{outsider.pk}/").status_code == 404
    assert client.get("/accounts/users/99999/").status_code == 404
    assert client.get("/orgs/abc/").status_code == 404


def test_list_pages_use_a_fixed_number_of_queries(tree, district_admin, client_for, django_assert_max_num_queries):
    """Lists keyset-paginate: the same small number of queries for 5 or 60 rows, no COUNT(*)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(district_admin)
    for i in range(60):
        make_user(f"bulk{i}", tree.c1 if i % 2 else tree.s2)
    for url in ("/accounts/users/", f"/orgs/{tree.district.pk}/", "/accounts/roles/"):
        with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        unbounded = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"] and "LIMIT" not in q["sql"]]
        assert not unbounded, url
    page = client.get("/accounts/users/").content.decode()
    assert "下一页" in page
    second = client.get("/accounts/users/?after=50").content.decode()
    assert "上一页" in second


def test_unit_page_queries_do_not_grow_with_children(tree, district_admin, client_for, django_assert_max_num_queries):
    from apps.orgs.services import do_create_unit

    client = client_for(district_admin)
    with django_assert_max_num_queries(12):
        client.get(f"/orgs/{tree.s1.pk}/")
    for i in range(30):
        do_create_unit(actor=None, parent=tree.s1, kind="community_room", name=f"批量{i}", code=f"B{i}")
    with django_assert_max_num_queries(12):
        client.get(f"/orgs/{tree.s1.pk}/")
