"""Client list and API list: keyset pages fetched as ids first, then rows — same rows, same scope."""

import re

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.clients import services
from apps.clients.models import Client, ServiceTargetCategory
from apps.core.scoping import unscoped

ROW_LINK = re.compile(r'href="/clients/(\d+)/"')
NAMES = ["张三丰", "李四光", "王五福", "赵六安", "钱七宝"]


@pytest.fixture
def register(tree):
    categories = list(ServiceTargetCategory.objects.order_by("id")[:2])
    mine = []
    for i, name in enumerate(NAMES):
        client = services.do_register_client(
            actor=None, unit=tree.c1, data={"name": name, "phone": f"1380013800{i}"}, categories=categories[: i % 3]
        )
        mine.append(client)
    other = services.do_register_client(actor=None, unit=tree.c3, data={"name": "张三丰"})
    return mine, other, categories


def page_ids(http, url):
    response = http.get(url)
    assert response.status_code == 200
    return [int(pk) for pk in ROW_LINK.findall(response.content.decode())], response.context["page"]


def test_list_pages_walk_the_scope_in_id_order(register, counsellor_a, settings):
    """S-ORG-2, X-2: next/previous keyset pages show every client in scope once, in id order, with
    the fields the list shows; clients of other units and merged records never appear."""
    mine, other, _ = register
    settings.PAGE_SIZE = 2
    with unscoped("test set-up: merge the fifth client into the first"):
        Client.objects.filter(pk=mine[4].pk).update(merged_into=mine[0])
    http = HttpClient()
    http.force_login(counsellor_a)
    seen, url = [], "/clients/"
    while True:
        ids, page = page_ids(http, url)
        seen += ids
        if not page.has_next:
            break
        url = f"/clients/?after={page.next_after}"
    assert seen == [c.pk for c in mine[:4]]
    ids, page = page_ids(http, f"/clients/?before={mine[2].pk}")
    assert ids == [mine[0].pk, mine[1].pk] and page.has_next
    first = http.get("/clients/").content.decode()
    assert "张三丰" in first and "李四光" in first and "138****8000" in first and "一社区室" in first
    assert page_ids(http, "/clients/?q=zsf")[0] == [mine[0].pk]  # the namesake in C3 is out of scope
    assert page_ids(http, "/clients/?q=%E5%BC%A0%E4%B8%89%E4%B8%B0")[0] == [mine[0].pk]
    assert page_ids(http, "/clients/?q=13800138001")[0] == [mine[1].pk]
    assert other.pk not in seen


def test_api_list_pages_with_categories_in_constant_queries(register, counsellor_a):
    """X-6, S-ORG-2: the API list walks its cursor pages over the scope only; categories come in one
    query per page, however many rows it holds."""
    mine, other, categories = register
    api = APIClient()
    api.force_authenticate(counsellor_a)
    seen, url = [], "/api/clients/?page_size=2"
    while url:
        body = api.get(url).json()
        seen += body["results"]
        url = body["next"]
    assert [r["id"] for r in seen] == [c.pk for c in mine]
    codes = [c.code for c in categories]
    assert [r["categories"] for r in seen] == [[], codes[:1], codes[:2], [], codes[:1]]
    assert seen[0]["phone"] == "138****8000" and seen[0]["name"] == "张三丰"
    counts = []
    for size in (1, 5):
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get(f"/api/clients/?page_size={size}").json()["results"]) == size
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
    assert [r["id"] for r in api.get("/api/clients/?q=zsf").json()["results"]] == [mine[0].pk]
