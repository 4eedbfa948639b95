"""The project's URLs plus one bare floor page for benchmarks (never mounted outside `make bench`)."""

from django.db import connection
from django.http import HttpResponse
from django.template import Context, Template
from django.urls import include, path

from apps.core.perms import login_only

FLOOR_QUERIES: dict[str, tuple[str, list]] = {}
ROWS = Template(
    "<table>{% for r in rows %}<tr><td>{{ r.0 }}</td><td>{{ r.1 }}</td><td>{{ r.2 }}</td></tr>{% endfor %}</table>"
)


@login_only
def floor(request, case):
    """A bare page: authenticated request, the hand-written SQL for the same rows, a minimal table."""
    sql, params = FLOOR_QUERIES[case]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return HttpResponse(ROWS.render(Context({"rows": rows, "user": request.user})))


urlpatterns = [
    path("", include("xinyuan.urls")),
    path("bench-floor/<str:case>/", floor),
]
