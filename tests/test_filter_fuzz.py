"""Issue 14 item 7: no query string makes a list endpoint or a list page answer 500.

Every GET endpoint of the API router without path parameters is walked, with every query parameter
it declares (OpenAPI schema: filterset fields, ``extend_schema`` parameters) plus every parameter its
module reads by hand (``query_params.get("…")``, ``params.get("…")`` in the app's api and selectors).
Each is fed huge and negative integers, non-numeric text, Unicode digits, empty and repeated values.
The answer must be a 400 with a message or a valid 2xx/3xx/404 — never a 500.

Kept cheap: one persona with broad permissions (``district_admin``), a few Hypothesis examples per
endpoint on top of a fixed sweep of the integer edge cases over every parameter.
"""

import importlib
import inspect
import re
from functools import cache
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARAM_RE = re.compile(r"""(?:query_params|params|request\.GET|GET)\.get\(\s*["'](\w+)["']""")
SUBSCRIPT_RE = re.compile(r"""(?:query_params|params|request\.GET)\[\s*["'](\w+)["']\s*\]""")
# Names any list might read an id or a number from, tried on every endpoint as well.
COMMON = ("client", "unit", "user", "year", "page_size", "cursor", "after", "before", "id", "pk")
# Swept over every parameter of every endpoint: the values that made a 500 before the fix.
SWEEP = ("9" * 40, "-" + "9" * 40, "²")  # superscript two: str.isdigit() says yes, int() says no
EDGE_VALUES = (
    *SWEEP,
    "9223372036854775808",
    "-9223372036854775809",
    "9223372036854775807",
    "٣٤",  # Arabic-Indic digits
    "1e400",
    "-1",
    "0",
    "",
)
VALUES = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=30),
    st.from_regex(r"\A[0-9]{1,60}\Z"),
)


def _module_params(module_name: str) -> set[str]:
    names: set[str] = set()
    for suffix in ("api", "selectors", "views"):
        try:
            source = inspect.getsource(importlib.import_module(f"{module_name.rsplit('.', 1)[0]}.{suffix}"))
        except (ImportError, OSError, TypeError):
            continue
        names.update(PARAM_RE.findall(source), SUBSCRIPT_RE.findall(source))
    return names


@cache
def api_endpoints() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(path, parameter names)`` of every GET endpoint of the API router without path parameters."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in sorted(schema["paths"].items()):
        if "{" in path or "get" not in operations:
            continue
        declared = {p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"}
        module = getattr(getattr(resolve(path).func, "cls", None), "__module__", "")
        names = declared | set(COMMON) | (_module_params(module) if module else set())
        found.append((path, tuple(sorted(names))))
    return tuple(found)


def _page_patterns(resolver=None, prefix=""):
    """``(path, view module)`` of every app page whose URL takes no argument."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("api/") or "<" in route:
                continue
            yield from _page_patterns(pattern, prefix + route)
        elif isinstance(pattern, URLPattern) and "<" not in route and "(?P" not in route:
            module = getattr(pattern.callback, "__module__", "")
            if module.startswith("apps.") and module.endswith(".views"):
                yield "/" + prefix + route, module


@cache
def pages() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(path, parameter names)`` of every app page that reads its query string."""
    found = []
    for path, module in _page_patterns():
        names = _module_params(module)
        if names:
            found.append((path, tuple(sorted(names | {"page", "after", "before"}))))
    return tuple(sorted(set(found)))


def _assert_no_server_error(http: Client, path: str, pairs: list[tuple[str, str]]):
    query = urlencode(pairs)
    response = http.get(f"{path}?{query}", HTTP_ACCEPT="application/json, text/html")
    assert response.status_code < 500, f"{path}?{query} answered {response.status_code}"
    if response.status_code == 400 and path.startswith("/api/"):
        assert response.json(), f"{path}?{query}: a 400 without a message"


@pytest.fixture
def http(district_admin):
    client = Client(raise_request_exception=False)
    client.force_login(district_admin)
    return client


@pytest.mark.parametrize(("path", "names"), api_endpoints(), ids=[p for p, _ in api_endpoints()])
def test_api_filters_never_answer_500(http, path, names):
    """X-6 (issue 14 item 7): every filter of every API list validates its input — 400 or a valid answer."""
    for name in names:
        for value in SWEEP:
            _assert_no_server_error(http, path, [(name, value)])
    _fuzz(http, path, names)


@pytest.mark.parametrize(("path", "names"), pages(), ids=[p for p, _ in pages()])
def test_page_filters_never_answer_500(http, path, names):
    """X-6 (issue 14 item 7): every list page validates the numbers in its query string."""
    for name in names:
        for value in SWEEP:
            _assert_no_server_error(http, path, [(name, value)])
    _fuzz(http, path, names)


def _fuzz(http, path, names):
    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(st.tuples(st.sampled_from(names), VALUES), min_size=1, max_size=4))
    def run(pairs):
        _assert_no_server_error(http, path, pairs)

    run()


def test_the_reported_overflow_is_a_400_with_a_chinese_message(http, district_admin):
    """X-6 (issue 14 item 7): ``?client=<40 digits>`` on assessment results is refused with 400, not a 500;
    a number in range still filters (200)."""
    response = http.get("/api/assessments/results/", {"client": "9" * 40})
    assert response.status_code == 400 and response.json() == {"client": ["数值超出允许范围。"]}
    assert http.get("/api/assessments/results/", {"client": "9223372036854775807"}).status_code == 200
    page = http.get("/alerts/warnings/", {"colour": "²"})
    assert page.status_code == 400 and "请使用阿拉伯数字" in page.content.decode()


def test_the_rule_itself():
    """X-6 (issue 14 item 7): integers must be ASCII and fit 64 bits; free text (q) and other text pass through."""
    from django.http import QueryDict

    from apps.core.querystring import query_integer_errors

    assert query_integer_errors(QueryDict("a=9223372036854775807&b=-9223372036854775808&c=abc&d=&e=1.5")) == {}
    errors = query_integer_errors(QueryDict(f"a=9223372036854775808&b=-9223372036854775809&c=%C2%B2&q={'9' * 40}"))
    assert set(errors) == {"a", "b", "c"}
    assert query_integer_errors(QueryDict("a=1&a=" + "9" * 20)) == {"a": ["数值超出允许范围。"]}


def test_the_api_filter_backend_refuses_without_the_middleware(district_admin):
    """X-6 (issue 14 item 7): the first default filter backend applies the rule to every API list even when
    the view is called directly (no middleware in front)."""
    from rest_framework.test import APIRequestFactory, force_authenticate

    from apps.assessments.api import ResultViewSet

    request = APIRequestFactory().get("/api/assessments/results/", {"client": "9" * 40})
    force_authenticate(request, user=district_admin)
    response = ResultViewSet.as_view({"get": "list"})(request)
    assert response.status_code == 400 and response.data == {"client": ["数值超出允许范围。"]}
