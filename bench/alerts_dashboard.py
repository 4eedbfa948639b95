"""Benchmark of the three-colour warning dashboard at city scale (standalone; never run by `make test`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xinyuan_bench_alerts .venv/bin/python bench/alerts_dashboard.py

Builds the city tree (``seed_demo --scale city``) in its own PostgreSQL database, bulk-inserts
200,000 active warnings with SQL (kept between runs), then measures in the same run:

* the dashboard page of one district and of the whole city: server time through Django's test
  client (no network), p50/p95, and its query count;
* the dashboard selector alone (the one grouped aggregate plus the fold into child units);
* the floor: the best hand-written SQL aggregate for the same counts (grouped directly by child unit).

Prints both and writes ``bench/results/alerts_dashboard.json``. Target: selector within 2× of the SQL.
"""

import datetime as dt
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyuan.settings")
RESULTS = ROOT / "bench" / "results"
REPEAT = int(os.environ.get("BENCH_REPEAT", "60"))
WARNINGS = int(os.environ.get("BENCH_WARNINGS", "200000"))


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def timed(fn, repeat=REPEAT):
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 3),
    }


# Colour 1–3 for tracked files, 0 for reported ones; states and dates spread by id so every
# dashboard cell has rows: ~10 % reported, ~10 % in the control flow, some overdue, some new.
INSERT_WARNINGS = """
INSERT INTO alerts_warning (
    client_id, unit_id, unit_path, tenant_id, centre_id, state, colour, proposed_colour, reason, tagged_by_id,
    tagged_at, colour_set_at, basis_scale, basis_score, counsellor_id, feedback_due, feedback_sent_at,
    cycle_days, cycle_number, cycle_started, cycle_due, cycles_in_review, review_baseline_score, proposal,
    control_measures, control_institution, version, created_at, updated_at
)
SELECT c.id, c.unit_id, c.unit_path, c.tenant_id, split_part(c.unit_path, '/', 3)::bigint, s.state,
       CASE WHEN s.state = 'reported' THEN 0 ELSE s.colour END, s.colour, '', NULL,
       s.at, CASE WHEN s.state = 'reported' THEN NULL ELSE s.at END, 'PHQ-9', 12, %(responder)s,
       CASE WHEN s.state = 'reported' THEN NULL ELSE (s.at + interval '3 days')::date END,
       CASE WHEN s.state = 'reported' OR c.id %% 7 = 0 THEN NULL ELSE s.at + interval '1 day' END,
       s.days, 1, s.at::date, (s.at + make_interval(days => s.days))::date, 0, 12, '',
       CASE WHEN s.state = 'control' THEN '["supervision", "tracking"]'::jsonb ELSE '[]'::jsonb END, '', 1,
       s.at, s.at
FROM (
    SELECT id, unit_id, unit_path, tenant_id FROM clients_client
    WHERE unit_path LIKE %(city)s AND id NOT IN (SELECT client_id FROM alerts_warning)
    ORDER BY id LIMIT %(count)s
) c
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.id %% 10 = 0 THEN 'reported' WHEN c.id %% 10 = 1 THEN 'control' ELSE 'open' END AS state,
           (1 + (c.id %% 6 > 2)::int + (c.id %% 6 = 5)::int) AS colour,
           CASE (1 + (c.id %% 6 > 2)::int + (c.id %% 6 = 5)::int) WHEN 3 THEN 7 WHEN 2 THEN 14 ELSE 30 END AS days,
           now() - make_interval(days => (c.id %% 60)::int, hours => (c.id %% 24)::int) AS at
) s
"""

# The best hand-written aggregate: one pass over the partial index, grouped straight by child unit.
HAND_SQL = """
SELECT split_part(unit_path, '/', %(part)s) AS child,
       count(*) FILTER (WHERE colour = 3), count(*) FILTER (WHERE colour = 2), count(*) FILTER (WHERE colour = 1),
       count(*) FILTER (WHERE state = 'reported'), count(*), count(*) FILTER (WHERE created_at >= %(week)s),
       count(*) FILTER (WHERE state IN ('open', 'control') AND feedback_sent_at IS NULL AND feedback_due < %(day)s),
       count(*) FILTER (WHERE state IN ('open', 'control') AND cycle_due < %(day)s),
       count(*) FILTER (WHERE state = 'control')
FROM alerts_warning
WHERE unit_path LIKE %(prefix)s AND NOT (state = 'closed')
GROUP BY 1
"""


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    ensure_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("axes").setLevel(logging.WARNING)
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    call_command("seed_demo", scale="city")

    from apps.accounts.models import Assignment, Role, User
    from apps.alerts import selectors, services
    from apps.orgs.models import OrgUnit

    city = OrgUnit.objects.get(code="CITY")
    district = OrgUnit.objects.get(code="CITY-D01")
    users = {}
    for username, unit in (("bench_alerts_district", district), ("bench_alerts_city", city)):
        user, _ = User.objects.get_or_create(username=username, defaults={"full_name": "基准管理员", "unit": unit})
        Assignment.objects.get_or_create(user=user, unit=unit, role=Role.objects.get(code="district_admin"))
        users[unit.pk] = user

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_warning WHERE NOT (state = 'closed')")
        have = cursor.fetchone()[0]
        if have < WARNINGS:
            started = time.monotonic()
            cursor.execute(
                INSERT_WARNINGS, {"responder": users[city.pk].pk, "city": city.path + "%", "count": WARNINGS - have}
            )
            print(f"inserted {cursor.rowcount} warnings in {time.monotonic() - started:.1f} s")
        cursor.execute("VACUUM ANALYZE alerts_warning")  # index-only scans need the visibility map
        cursor.execute("SELECT count(*) FROM alerts_warning WHERE NOT (state = 'closed')")
        active = cursor.fetchone()[0]
    print(f"active warnings: {active}")

    day = selectors.today()
    week = dt.datetime.combine(selectors.week_start(day), dt.time.min, tzinfo=services.SHANGHAI)

    def hand_sql(unit):
        with connection.cursor() as cursor:
            cursor.execute(HAND_SQL, {"part": unit.depth + 3, "week": week, "day": day, "prefix": unit.path + "%"})
            return cursor.fetchall()

    def explain(unit):
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + HAND_SQL,
                {"part": unit.depth + 3, "week": week, "day": day, "prefix": unit.path + "%"},
            )
            return [row[0] for row in cursor.fetchall()]

    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"warnings": active, "repeat": REPEAT, "cases": []}
    header = f"{'case':<18}{'page p50':>10}{'page p95':>10}{'queries':>9}{'selector p50':>14}{'SQL p50':>9}"
    print(header + f"{'SQL p95':>9}{'sel/SQL':>9}{'page/SQL':>10}")
    for name, unit in (("district", district), ("city", city)):
        user = users[unit.pk]
        client = Client()
        client.force_login(user)
        response = client.get("/alerts/")
        assert response.status_code == 200, response.status_code
        assert b"alerts-chart-data" in response.content
        with CaptureQueriesContext(connection) as queries:
            client.get("/alerts/")
        page = timed(lambda c=client: c.get("/alerts/"))
        user = User.objects.get(pk=user.pk)
        board = selectors.dashboard(user, unit)
        selector = timed(lambda u=user, n=unit: selectors.dashboard(u, n))
        floor = timed(lambda n=unit: hand_sql(n))
        # Same numbers both ways.
        by_child = {str(r.unit.pk): r.raw for r in board.rows if r.unit}
        for row in hand_sql(unit):
            if row[0] in by_child:
                assert by_child[row[0]]["total"] == row[5], (row, by_child[row[0]])
        case = {
            "case": f"alerts_dashboard_{name}",
            "unit": unit.code,
            "warnings_in_subtree": board.totals["total"],
            "page": page,
            "queries": len(queries.captured_queries),
            "selector": selector,
            "hand_sql": floor,
            "ratio_selector_to_sql_p50": round(selector["p50_ms"] / max(floor["p50_ms"], 0.001), 2),
            "ratio_page_to_sql_p50": round(page["p50_ms"] / max(floor["p50_ms"], 0.001), 2),
            "hand_sql_plan": explain(unit),
        }
        report["cases"].append(case)
        print(
            f"{name:<18}{page['p50_ms']:>10.2f}{page['p95_ms']:>10.2f}{case['queries']:>9}"
            f"{selector['p50_ms']:>14.2f}{floor['p50_ms']:>9.2f}{floor['p95_ms']:>9.2f}"
            f"{case['ratio_selector_to_sql_p50']:>9.2f}{case['ratio_page_to_sql_p50']:>10.2f}"
        )
    (RESULTS / "alerts_dashboard.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"\nResults written to {RESULTS / 'alerts_dashboard.json'}")


if __name__ == "__main__":
    main()
