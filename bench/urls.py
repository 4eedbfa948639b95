"""The project's URLs plus one bare floor page for benchmarks (never mounted outside `make bench`)."""

from django.db import connection
from django.http import HttpResponse
from django.template import Context, Template
from django.urls import include, path

from apps.core.perms import login_only
from apps.vault.crypto import decrypt_text

FLOOR_QUERIES: dict[str, tuple[str, list]] = {}
# Cases whose rows hold ciphertext: {column index: vault label}; the floor decrypts these columns
# (any page that shows a name must) and renders every column.
FLOOR_DECRYPT: dict[str, dict[int, str]] = {}
ROWS = Template(
    "<table>{% for r in rows %}<tr><td>{{ r.0 }}</td><td>{{ r.1 }}</td><td>{{ r.2 }}</td></tr>{% endfor %}</table>"
)
ALL_COLUMNS = Template(
    "<table>{% for r in rows %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>"
)


@login_only
def floor(request, case):
    """A bare page: authenticated request, the hand-written SQL for the same rows, a minimal table."""
    sql, params = FLOOR_QUERIES[case]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    decrypt = FLOOR_DECRYPT.get(case)
    if decrypt is None:
        return HttpResponse(ROWS.render(Context({"rows": rows, "user": request.user})))
    rows = [[decrypt_text(v, decrypt[i]) if i in decrypt and v else v for i, v in enumerate(row)] for row in rows[:50]]
    return HttpResponse(ALL_COLUMNS.render(Context({"rows": rows, "user": request.user})))


urlpatterns = [
    path("", include("xinyuan.urls")),
    path("bench-floor/<str:case>/", floor),
]
