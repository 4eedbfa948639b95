"""City-scale benchmarks for list pages and API lists (run by `make bench`, never by `make test`).

Builds the city data set once in its own PostgreSQL database (kept between runs), then for each
list page and API list measures, in the same run and process:

* the page's server time (Django test client, no network), p50 and p95 over N requests;
* its query count;
* the floor: the same rows fetched by hand-written SQL, and a bare Django view that runs that SQL
  and renders the rows in a minimal template (what any page must at least do).

Figures go to stdout and to ``bench/results/<name>.json``. The client register's lists and searches
(1,000,000 clients, 10,000,000 service records) run last, from ``bench/clients.py``, into
``bench/results/clients.json``; see docs/benchmarks.md.
"""

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
ONLY = set(sys.argv[1:])


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
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
    }


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("make bench runs on PostgreSQL: set DATABASE_URL (the Makefile does).")
    ensure_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("axes").setLevel(logging.WARNING)  # one INFO line per login otherwise
    request_started.disconnect(reset_queries)  # keep the query log across the client's request
    settings.ALLOWED_HOSTS = ["*"]
    settings.ROOT_URLCONF = "bench.urls"
    from bench.urls import FLOOR_QUERIES

    call_command("migrate", verbosity=0)
    call_command("seed_demo", scale="city")

    from apps.accounts.models import Assignment, Role, User
    from apps.orgs.models import OrgUnit

    city = OrgUnit.objects.get(code="CITY")
    district = OrgUnit.objects.get(code="CITY-D01")
    admin, _ = User.objects.get_or_create(
        username="bench_district", defaults={"full_name": "基准区管理员", "unit": district}
    )
    Assignment.objects.get_or_create(user=admin, unit=district, role=Role.objects.get(code="district_admin"))
    city_admin, _ = User.objects.get_or_create(
        username="bench_city", defaults={"full_name": "基准市管理员", "unit": city}
    )
    Assignment.objects.get_or_create(user=city_admin, unit=city, role=Role.objects.get(code="district_admin"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def sql_rows(sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    user_sql = (
        "SELECT u.id, u.full_name, u.username, o.name FROM accounts_user u JOIN orgs_orgunit o ON o.id = u.unit_id "
        "WHERE o.path LIKE %s ORDER BY u.id LIMIT 51"
    )
    child_sql = (
        "SELECT o.id, o.name, o.code, (SELECT COUNT(*) FROM orgs_orgunit c WHERE c.parent_id = o.id) "
        "FROM orgs_orgunit o WHERE o.parent_id = %s AND o.path LIKE %s ORDER BY o.id LIMIT 51"
    )
    cases = [
        ("page_users_district", admin, "/accounts/users/", user_sql, [district.path + "%"]),
        ("page_users_city", city_admin, "/accounts/users/", user_sql, [city.path + "%"]),
        ("page_orgs_district", admin, f"/orgs/{district.pk}/", child_sql, [district.pk, district.path + "%"]),
        ("page_orgs_city", city_admin, f"/orgs/{city.pk}/", child_sql, [city.pk, city.path + "%"]),
        ("api_users_district", admin, "/api/users/", user_sql, [district.path + "%"]),
        (
            "api_orgunits_district",
            admin,
            f"/api/org-units/?parent={district.pk}",
            child_sql,
            [district.pk, district.path + "%"],
        ),
        ("api_orgunits_city", city_admin, "/api/org-units/", child_sql, [city.pk, city.path + "%"]),
    ]

    RESULTS.mkdir(parents=True, exist_ok=True)
    if ONLY == {"clients"}:
        cases = []  # `bench/run.py clients`: the client register only
    print(f"{'case':<24}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'SQL ms':>9}{'bare page ms':>14}{'ratio':>8}")
    for name, user, path, sql, params in cases:
        client = Client()
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, (name, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        query_count = len(queries.captured_queries)  # now: later queries rotate the capped query log
        page = timed(lambda c=client, p=path: c.get(p))
        floor_sql = timed(lambda s=sql, a=params: sql_rows(s, a))
        FLOOR_QUERIES[name] = (sql, params)
        bare = timed(lambda c=client, n=name: c.get(f"/bench-floor/{n}/"))
        result = {
            "case": name,
            "path": path,
            "page": page,
            "queries": query_count,
            "floor_sql": floor_sql,
            "floor_bare_page": bare,
            "ratio_p50_to_bare_page": round(page["p50_ms"] / max(bare["p50_ms"], 0.001), 2),
            "repeat": REPEAT,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(
            f"{name:<24}{page['p50_ms']:>9.2f}{page['p95_ms']:>9.2f}{result['queries']:>9}"
            f"{floor_sql['p50_ms']:>9.2f}{bare['p50_ms']:>14.2f}{result['ratio_p50_to_bare_page']:>8.2f}"
        )
    from bench.clients import run_client_cases
    from bench.urls import FLOOR_DECRYPT

    run_client_cases(REPEAT, RESULTS, FLOOR_QUERIES, FLOOR_DECRYPT)
    print(f"\nResults written to {RESULTS}/")


if __name__ == "__main__":
    main()
