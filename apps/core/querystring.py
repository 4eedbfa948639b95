"""Integers in query strings: one rule for every page and API endpoint (issue 14 item 7).

Ids and numbers live in 64-bit columns. A longer number made SQLite raise ``OverflowError`` (a 500),
and ``"²"`` passes ``str.isdigit()`` but not ``int()``. ``query_integer_errors`` states the rule;
``QueryIntegerMiddleware`` applies it to every request before any view parses its filters, and
``apps.core.api.QueryIntegerFilterBackend`` to every API list (also when a view is called directly).
"""

from django.http import HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FREE_TEXT_PARAMS = frozenset({"q", "search", "cursor"})  # search text and opaque cursors, never ids
OUT_OF_RANGE = "数值超出允许范围。"
NOT_ARABIC = "请使用阿拉伯数字 0–9。"


def query_integer_errors(params, exempt=FREE_TEXT_PARAMS) -> dict[str, list[str]]:
    """Chinese errors for query values that read as integers but fit no 64-bit column.

    A value of digits only (optionally signed) must be ASCII digits and lie in the signed 64-bit
    range. Other text is left to each filter, which treats it as no match or a validation error.
    """
    errors: dict[str, list[str]] = {}
    for name in params:
        if name in exempt:
            continue
        for value in params.getlist(name):
            text = value.strip()
            digits = text[1:] if text[:1] in ("+", "-") else text
            if not digits or not digits.isdigit():
                continue
            if not digits.isascii():
                errors.setdefault(name, []).append(NOT_ARABIC)
            elif len(digits) > 19 or not INT64_MIN <= int(text) <= INT64_MAX:
                errors.setdefault(name, []).append(OUT_OF_RANGE)
    return errors


class QueryIntegerMiddleware:
    """Answer 400 (JSON under /api/, a Chinese page elsewhere) when the query string breaks the rule."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        errors = query_integer_errors(request.GET) if request.GET else {}
        if not errors:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(errors, status=400, json_dumps_params={"ensure_ascii": False})
        html = render_to_string("400.html", {"errors": errors}, request=request)
        return HttpResponseBadRequest(html)
