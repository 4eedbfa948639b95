"""Client register at city scale (issue 4 "Speed"): scoped lists and searches, pages and API.

Run by ``bench/run.py`` (``make bench``) after ``seed_demo --scale city`` has built 1,000,000
clients and 10,000,000 service records. For each case it measures, in the same process:

* ``page``: server time of the page or API list through the Django test client, p50/p95, and the
  time its database queries took (``db``) with their count;
* ``page SQL``: the page's queries of the client table, exactly as captured, re-run on their own;
* ``hand SQL``: a hand-written query for the same 50 rows (what an expert would type in psql), timed
  alternately with the page SQL (3 × BENCH_REPEAT each) so that both meet the same machine load;
* ``bare page``: a minimal authenticated view that runs the hand SQL, decrypts the shown
  encrypted columns (any page showing a name must) and renders a bare table.

A case passes when the page's client query takes at most twice the hand SQL (``SQL ratio``) and
the page's p95 is within 150 ms. Every search case also checks that the page really shows the
client it looked for. Results go to stdout and ``bench/results/clients.json``.
"""

import json
import os
import re
import statistics
import time
from pathlib import Path

ROW_LINK = re.compile(r'href="/clients/(\d+)/"')
SQL_RATIO_LIMIT = 2.0
P95_LIMIT_MS = 150.0

# The expert's query: the page's ids first (an index-only scan where an index covers the filter),
# then only those rows — rather than reading every row of a street or district to sort by id.
PAGE_IDS = (
    "c.id IN (SELECT c.id FROM clients_client c WHERE c.unit_path LIKE %s AND c.merged_into_id IS NULL {extra} "
    "ORDER BY c.id LIMIT 51)"
)
LIST_SQL = (
    "SELECT c.id, c.name, c.gender, c.birth_date, c.phone, o.name FROM clients_client c "
    "JOIN orgs_orgunit o ON o.id = c.unit_id WHERE " + PAGE_IDS + " ORDER BY c.id"
)
API_SQL = (
    "SELECT c.id, c.unit_id, c.name, c.gender, c.birth_date, c.id_number, c.phone, c.ethnicity, c.native_place, "
    "c.education, c.political_status, c.religion, c.version, c.created_at, "
    "ARRAY(SELECT s.code FROM clients_client_categories cc JOIN clients_servicetargetcategory s "
    "ON s.id = cc.servicetargetcategory_id WHERE cc.client_id = c.id ORDER BY s.order, s.id) "
    "FROM clients_client c WHERE " + PAGE_IDS + " ORDER BY c.id"
)
SEARCH_SQL = {
    "": "",
    "name": "AND c.name_index = %s",
    "initials": "AND c.name_initials LIKE %s",
    "phone": "AND c.phone_index = %s",
    "id": "AND c.id_number_index = %s",
}
LIST_DECRYPT = {1: "clients.client.name", 4: "clients.client.phone"}
API_DECRYPT = {2: "clients.client.name", 5: "clients.client.id_number", 6: "clients.client.phone"}


def _percentiles(samples):
    samples = sorted(samples)
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[max(int(len(samples) * 0.95) - 1, 0)], 3),
    }


def _timed_page(client, path, repeat, connection):
    """Server time of ``path`` and the time its queries spent in the database, per request."""
    db_ms = [0.0]

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_ms[0] += (time.perf_counter() - start) * 1000

    client.get(path)  # warm up
    total, db = [], []
    with connection.execute_wrapper(wrapper):
        for _ in range(repeat):
            db_ms[0] = 0.0
            start = time.perf_counter()
            client.get(path)
            total.append((time.perf_counter() - start) * 1000)
            db.append(db_ms[0])
    page = _percentiles(total)
    page["db_p50_ms"] = round(statistics.median(db), 3)
    return page


def _bench_users(district):
    """A street manager, a district admin and a city-level admin (district_admin role at the city)."""
    from apps.accounts.models import Assignment, Role, User
    from apps.orgs.choices import UnitKind
    from apps.orgs.models import OrgUnit

    city = district.parent
    street = OrgUnit.objects.filter(parent=district, kind=UnitKind.STREET_STATION).order_by("id").first()
    users = {}
    for username, full_name, unit, role in (
        ("bench_street", "基准街道负责人", street, "street_manager"),
        ("bench_district", "基准区管理员", district, "district_admin"),
        ("bench_city", "基准市管理员", city, "district_admin"),
    ):
        user, _ = User.objects.get_or_create(username=username, defaults={"full_name": full_name, "unit": unit})
        Assignment.objects.get_or_create(user=user, unit=unit, role=Role.objects.get(code=role))
        users[username] = user
    return users, street


def _targets(street, district):
    """Real rows to look for: a client of the street, and the district's most frequent full name."""
    from django.db import connection

    from apps.clients.models import Client
    from apps.core.scoping import unscoped

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM clients_client WHERE unit_path LIKE %s ORDER BY id LIMIT 1 OFFSET 200", [street.path + "%"]
        )
        target_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT name_index, MIN(id) FROM clients_client WHERE unit_path LIKE %s "
            "GROUP BY name_index ORDER BY COUNT(*) DESC, name_index LIMIT 1",
            [district.path + "%"],
        )
        name_index, namesake_id = cursor.fetchone()
    with unscoped("benchmark set-up reads the rows it will search for"):
        target = Client.objects.get(pk=target_id)
        namesake = Client.objects.get(pk=namesake_id)
    mobile = target.phone.removeprefix("+86")
    return {
        "name": (namesake.name, namesake.name_index, namesake.pk),
        "initials": (target.name_initials, target.name_initials + "%", target.pk),
        "phone": (mobile, target.phone_index, target.pk),
        "id": (target.id_number, target.id_number_index, target.pk),
    }


def _cases(users, street, district):
    city = district.parent
    targets = _targets(street, district)
    scopes = {"street": street, "district": district, "city": city}
    cases = []
    for level in ("street", "district", "city"):
        cases.append(
            (f"list_{level}", users[f"bench_{level}"], "/clients/", LIST_SQL, "", [scopes[level].path + "%"], None)
        )
    # A deep keyset page: the 101st page of the district list (no OFFSET anywhere).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM clients_client WHERE unit_path LIKE %s AND merged_into_id IS NULL "
            "ORDER BY id LIMIT 1 OFFSET 4999",
            [district.path + "%"],
        )
        after = cursor.fetchone()[0]
    cases.append(
        (
            "list_district_page101",
            users["bench_district"],
            f"/clients/?after={after}",
            LIST_SQL,
            "AND c.id > %s",
            [district.path + "%", after],
            None,
        )
    )
    from urllib.parse import quote

    for kind in ("name", "initials", "phone", "id"):
        query, param, expect = targets[kind]
        for level in ("district", "city"):
            user = users[f"bench_{level}"]
            params = [scopes[level].path + "%", param]
            if kind == "name" and level == "city":
                expect = None  # the district's first namesake need not be on the city's first page
            cases.append(
                (
                    f"search_{kind}_{level}",
                    user,
                    f"/clients/?q={quote(query)}",
                    LIST_SQL,
                    SEARCH_SQL[kind],
                    params,
                    expect,
                )
            )
    for level in ("district", "city"):
        user = users[f"bench_{level}"]
        cases.append((f"api_list_{level}", user, "/api/clients/", API_SQL, "", [scopes[level].path + "%"], None))
        for kind in ("name", "initials", "phone", "id"):
            query, param, expect = targets[kind]
            if kind == "name" and level == "city":
                expect = None
            cases.append(
                (
                    f"api_search_{kind}_{level}",
                    user,
                    f"/api/clients/?q={quote(query)}",
                    API_SQL,
                    SEARCH_SQL[kind],
                    [scopes[level].path + "%", param],
                    expect,
                )
            )
    return cases, targets


def _data_sizes(connection):
    tables = [
        "orgs_orgunit",
        "accounts_user",
        "clients_client",
        "screening_screeningrecord",
        "outreach_intervention",
        "outreach_homevisit",
    ]
    sizes = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - constant table names
            sizes[table] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes["database_bytes"] = cursor.fetchone()[0]
    return sizes


def _client_queries(captured):
    """The page's queries of the client table (the keyset page), as sent."""
    found = [query["sql"] for query in captured if 'FROM "clients_client"' in query["sql"]]
    assert found, "the page ran no query of clients_client"
    return found


def run_client_cases(repeat: int, results_dir: Path, floor_queries: dict, floor_decrypt: dict) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.orgs.models import OrgUnit

    district = OrgUnit.objects.get(code="CITY-D01")
    users, street = _bench_users(district)
    cases, targets = _cases(users, street, district)
    sizes = _data_sizes(connection)

    def run_sql(sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def run_all(statements):
        for sql, params in statements:
            run_sql(sql, params)

    def timed_pair(page_statements, hand_statements):
        """p50/p95 of the page's statements and of the hand SQL, run alternately (same load for both)."""
        run_all(page_statements)
        run_all(hand_statements)
        samples = ([], [])
        for _ in range(repeat * 3):
            for statements, into in ((page_statements, samples[0]), (hand_statements, samples[1])):
                start = time.perf_counter()
                run_all(statements)
                into.append((time.perf_counter() - start) * 1000)
        return _percentiles(samples[0]), _percentiles(samples[1])

    print(
        f"\nClient register: {sizes['clients_client']:,} clients, "
        f"{sizes['screening_screeningrecord'] + sizes['outreach_intervention'] + sizes['outreach_homevisit']:,} "
        f"service records, {sizes['orgs_orgunit']:,} units, database {sizes['database_bytes'] / 2**30:.1f} GB; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    header = (
        f"{'case':<26}{'p50 ms':>8}{'p95 ms':>8}{'db ms':>7}{'qs':>4}{'rows':>5}{'page SQL':>9}{'hand SQL':>9}"
        f"{'SQL x':>7}{'bare pg':>8}{'pg/bare':>8}  ok"
    )
    print(header)
    results = []
    for name, user, path, sql_template, extra, params, expect in cases:
        hand_sql = sql_template.format(extra=extra)
        client = Client()
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, (name, response.status_code)
        if path.startswith("/api/"):
            shown = [row["id"] for row in response.json()["results"]]
        else:
            shown = [int(pk) for pk in ROW_LINK.findall(response.content.decode())]
        hand_rows = run_sql(hand_sql, params)
        assert shown == [row[0] for row in hand_rows[:50]], (name, "the page shows other rows than the hand SQL")
        assert expect is None or expect in shown, (name, "the search did not find the client it looked for")
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        captured = list(queries.captured_queries)  # now: later queries rotate the capped query log
        page_sql = _client_queries(captured)
        page = _timed_page(client, path, repeat, connection)
        page_sql_time, hand = timed_pair([(sql, None) for sql in page_sql], [(hand_sql, params)])
        floor_queries[name] = (hand_sql, params)
        floor_decrypt[name] = API_DECRYPT if path.startswith("/api/") else LIST_DECRYPT
        bare = _timed_page(client, f"/bench-floor/{name}/", repeat, connection)
        sql_ratio = round(page_sql_time["p50_ms"] / max(hand["p50_ms"], 0.001), 2)
        passed = sql_ratio <= SQL_RATIO_LIMIT and page["p95_ms"] <= P95_LIMIT_MS
        result = {
            "case": name,
            "user": user.username,
            "path": path,
            "rows": min(len(hand_rows), 50),
            "page": page,
            "queries": len(captured),
            "page_sql": page_sql_time,
            "page_sql_text": page_sql,
            "hand_sql": hand,
            "hand_sql_text": hand_sql,
            "hand_sql_params": [str(p) for p in params],
            "floor_bare_page": bare,
            "sql_ratio_p50": sql_ratio,
            "page_to_bare_page_p50": round(page["p50_ms"] / max(bare["p50_ms"], 0.001), 2),
            "passed": passed,
            "repeat": repeat,
        }
        results.append(result)
        print(
            f"{name:<26}{page['p50_ms']:>8.2f}{page['p95_ms']:>8.2f}{page['db_p50_ms']:>7.2f}{result['queries']:>4}"
            f"{result['rows']:>5}{page_sql_time['p50_ms']:>9.2f}{hand['p50_ms']:>9.2f}{sql_ratio:>7.2f}"
            f"{bare['p50_ms']:>8.2f}{result['page_to_bare_page_p50']:>8.2f}  {'yes' if passed else 'NO'}"
        )
    summary = {
        "criteria": {"sql_ratio_max": SQL_RATIO_LIMIT, "page_p95_max_ms": P95_LIMIT_MS},
        "load_average_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "data": sizes,
        "search_terms": {kind: {"kind": kind, "target_client": value[2]} for kind, value in targets.items()},
        "cases": results,
        "passed": all(r["passed"] for r in results),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "clients.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    failed = [r["case"] for r in results if not r["passed"]]
    print("All client cases pass." if not failed else f"Client cases over the limits: {', '.join(failed)}")
    return results
