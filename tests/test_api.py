"""REST API base (X-6): scoped endpoints, token authentication, Chinese errors, OpenAPI."""

import re

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Assignment, Role, User
from apps.accounts.tokens import do_create_token
from apps.orgs.models import OrgUnit
from conftest import PASSWORD


@pytest.fixture
def api(district_admin):
    client = APIClient()
    client.force_authenticate(district_admin)
    return client


def test_token_authentication_and_scope(tree, street_manager):
    """X-6: a token client sees only its subtree."""
    _token, key = do_create_token(actor=street_manager, name="测试")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/org-units/")
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {"T-S1", "T-C1", "T-C2"}
    assert client.get(f"/api/org-units/{tree.s2.pk}/").status_code == 404
    assert APIClient().get("/api/org-units/").status_code in (401, 403)


def test_assignment_header_selects_the_active_grant(tree, counsellor_a):
    """X-6: a token client picks which of its assignments it acts through."""
    second = Assignment.objects.create(user=counsellor_a, unit=tree.c3, role=Role.objects.get(code="counsellor"))
    client = APIClient()
    _token, key = do_create_token(actor=counsellor_a, name="测试")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert {r["code"] for r in client.get("/api/org-units/").json()["results"]} == {"T-C1"}
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_XINYUAN_ASSIGNMENT=str(second.pk))
    assert {r["code"] for r in client.get("/api/org-units/").json()["results"]} == {"T-C3"}


def test_create_move_and_refuse_cycles(api, tree):
    """S-ORG-1: create, move, and a cycle refused with a Chinese message and no change."""
    response = api.post(
        "/api/org-units/", {"parent": tree.s1.pk, "kind": "community_room", "name": "新社区室", "code": "T-C9"}
    )
    assert response.status_code == 201, response.json()
    new_id = response.json()["id"]
    response = api.post(f"/api/org-units/{new_id}/move/", {"new_parent": tree.s2.pk})
    assert response.status_code == 200
    assert OrgUnit.objects.get(pk=new_id).path.startswith(tree.s2.path)
    before = OrgUnit.objects.get(pk=tree.s1.pk).path
    response = api.post(f"/api/org-units/{tree.s1.pk}/move/", {"new_parent": tree.c1.pk})
    assert response.status_code == 400
    assert "下级单位之下" in str(response.json())
    assert OrgUnit.objects.get(pk=tree.s1.pk).path == before


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"parent": "abc", "kind": "community_room", "name": "x", "code": "y"},
        {"parent": 1, "kind": "no-such-kind", "name": "x", "code": "y"},
        {"parent": 1, "kind": "community_room", "name": "长" * 101, "code": "y"},
    ],
)
def test_bad_input_is_a_400_in_chinese(api, tree, payload):
    count = OrgUnit.objects.count()
    response = api.post("/api/org-units/", payload, format="json")
    assert response.status_code == 400
    body = str(response.json())
    assert re.search(r"[\u4e00-\u9fff]", body), f"not a Chinese message: {body}"
    assert OrgUnit.objects.count() == count


def test_stale_version_is_refused(api, tree):
    ok = api.patch(f"/api/org-units/{tree.c1.pk}/", {"name": "甲", "code": "T-C1", "version": 1})
    assert ok.status_code == 200
    stale = api.patch(f"/api/org-units/{tree.c1.pk}/", {"name": "乙", "code": "T-C1", "version": 1})
    assert stale.status_code == 400 and "他人修改" in str(stale.json())


def test_users_and_assignments(api, tree):
    response = api.post(
        "/api/users/", {"username": "api_user", "full_name": "接口用户", "unit": tree.c1.pk, "password": PASSWORD}
    )
    assert response.status_code == 201, response.json()
    user_id = response.json()["id"]
    assert "password" not in response.json()
    role = Role.objects.get(code="community_worker")  # note-reading roles need a grant request (issue 14)
    response = api.post("/api/assignments/", {"user": user_id, "unit": tree.c1.pk, "role": role.pk})
    assert response.status_code == 201, response.json()
    again = api.post("/api/assignments/", {"user": user_id, "unit": tree.c1.pk, "role": role.pk})
    assert again.status_code == 400 and "已有此角色" in str(again.json())
    assert api.delete(f"/api/assignments/{response.json()['id']}/").status_code == 204
    assert api.post(f"/api/users/{user_id}/set-active/", {"is_active": False}).status_code == 200
    assert not User.objects.get(pk=user_id).is_active


def test_missing_and_forbidden_look_the_same(api, tree, outsider):
    """S-ORG-2: an out-of-scope object answers 404 like a missing one."""
    forbidden = api.get(f"/api/users/{outsider.pk}/")
    missing = api.get("/api/users/999999/")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()


def test_openapi_schema_and_offline_docs(api):
    """X-6: OpenAPI 3 schema and interactive docs served without any CDN."""
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "openapi" in text and "/api/org-units/" in text and "/api/assignments/" in text
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower() and "jsdelivr" not in html.lower()


def test_api_list_pages_without_count(api, tree, django_assert_max_num_queries):
    """X-6: API lists are cursor-paginated — no COUNT(*), fixed query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/users/?page_size=2")
    assert response.status_code == 200 and "next" in response.json()
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    with django_assert_max_num_queries(6):
        api.get("/api/org-units/")
