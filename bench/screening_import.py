"""Screening import benchmark (S-CLIENT-3, X-5): 100,000-row xlsx, parse vs import on PostgreSQL.

Not part of ``make test``. Run::

    .venv/bin/python bench/screening_import.py [rows]

It creates (once) the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/xy_screening_bench), migrates it, generates the spreadsheet in
a child process (so its memory is not counted), then in this process times

* parse: python-calamine reading the sheet into Python values (the floor any import pays);
* import: the real background job (``apps.screening.importer.process_batch``): parse, validate
  every row, look the people up in the register, encrypt, bulk insert clients, categories and
  screening records in one transaction, audit;

and prints both, their ratio (target ≤ 2) and the peak resident memory (target < 1 GB). A fresh
org tree per run keeps earlier runs' clients out of the duplicate check.

On a shared machine the wall times swing with the load, so it also prints this process's CPU
time for both (parse and import run in this process; PostgreSQL's work does not count there) and
how long the import waited on PostgreSQL for its COPY statements and for the commit (where the
deferred foreign-key checks run).
"""

import multiprocessing
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/xy_screening_bench")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyuan.settings")
ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
FILE = ROOT / "var" / "bench" / f"screening-{ROWS}.xlsx"


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def generate(path: Path, rows: int) -> None:
    import django

    django.setup()
    from apps.screening.tests.factories import people

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(people(rows))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ensure_database(DATABASE_URL)
    if not FILE.exists():
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(target=generate, args=(FILE, ROWS))
        child.start()
        child.join()
        print(f"生成 {ROWS} 行 xlsx：{time.perf_counter() - started:.1f} s（{FILE.stat().st_size / 1e6:.1f} MB）")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts.models import Assignment, Role, User
    from apps.core.scoping import unscoped
    from apps.orgs.choices import UnitKind
    from apps.orgs.services import do_create_unit
    from apps.screening import importer, services
    from apps.screening.models import ImportBatch

    print(f"开始前峰值内存：{peak_mb():.0f} MB")
    started, cpu_started = time.perf_counter(), time.process_time()
    cells = importer.read_sheet(FILE)
    parse, parse_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert len(cells) == ROWS + 1
    del cells
    print(f"解析（python-calamine）：{parse:.2f} s（本进程 CPU {parse_cpu:.2f} s），峰值内存 {peak_mb():.0f} MB")

    stamp = str(int(time.time()))
    root = do_create_unit(
        actor=None, parent=None, kind=UnitKind.DISTRICT_CENTRE, name=f"基准区{stamp}", code=f"B{stamp}"
    )
    unit = do_create_unit(actor=None, parent=root, kind=UnitKind.COMMUNITY_ROOM, name="基准社区", code=f"B{stamp}C")
    user = User.objects.create_user(username=f"bench{stamp}", password=None, full_name="基准", unit=unit)
    Assignment.objects.create(user=user, unit=unit, role=Role.objects.get(code="community_worker"))
    with unscoped("benchmark set-up"):
        batch = ImportBatch.objects.create(
            unit=unit, unit_path=unit.path, scope_path=unit.path, uploaded_by=user,
            file_name=FILE.name, stored_name=f"bench-{stamp}.xlsx",
        )  # fmt: skip
    shutil.copy(FILE, services.upload_dir() / batch.stored_name)
    phases = {}

    def timed_phase(name, fn):
        def run(*args, **kwargs):
            begun = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = time.perf_counter() - begun

        return run

    importer.validate_file = timed_phase("校验（含解析与查重）", importer.validate_file)
    importer.write_rows = timed_phase("写入（加密、批量插入、审计）", importer.write_rows)
    waits = {"copy": 0.0, "commit": 0.0}

    import psycopg

    real_write = psycopg.Copy.write

    def timed_write(self, buffer):
        begun = time.perf_counter()
        try:
            return real_write(self, buffer)
        finally:
            waits["copy"] += time.perf_counter() - begun

    real_exit = psycopg.Copy.__exit__

    def timed_exit(self, *args):
        begun = time.perf_counter()
        try:
            return real_exit(self, *args)
        finally:
            waits["copy"] += time.perf_counter() - begun

    psycopg.Copy.write, psycopg.Copy.__exit__ = timed_write, timed_exit
    from django.db import connections

    connection = connections["default"]
    real_commit = connection.commit

    def timed_commit():
        begun = time.perf_counter()
        try:
            return real_commit()
        finally:
            waits["commit"] += time.perf_counter() - begun

    connection.commit = timed_commit
    started, cpu_started = time.perf_counter(), time.process_time()
    batch = importer.process_batch(batch.pk)
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert batch.status == "done", (batch.message, batch.error_report[:5])
    print(
        f"导入（校验＋写入，含解析）：{total:.2f} s，"
        f"新登记 {batch.created_clients} 人，排查记录 {batch.created_records} 条"
    )
    for name, seconds in phases.items():
        print(f"  其中{name}：{seconds:.2f} s")
    print(
        f"  等待 PostgreSQL：COPY {waits['copy']:.2f} s，提交（延迟的外键检查）{waits['commit']:.2f} s；"
        f"本进程 CPU {total_cpu:.2f} s"
    )
    print(f"导入 / 解析 = {total / parse:.1f}（目标 ≤ 2）；本进程 CPU 之比 = {total_cpu / parse_cpu:.1f}")
    print(f"峰值内存（解析＋导入）：{peak_mb():.0f} MB（目标 < 1024 MB）")
    floor = database_floor(batch)
    for label, options in {
        "无外键": {"foreign_keys": False},
        "只有主键索引": {"indexes": False},
        "无外键、只有主键索引": {"foreign_keys": False, "indexes": False},
    }.items():
        print(f"  下限的构成——{label}：{database_floor(batch, **options):.2f} s")
    print(
        f"数据库下限（手写 COPY 同样的行，含索引与外键检查，无任何 Python 逐行工作）：{floor:.2f} s；"
        f"解析＋数据库下限 = {parse + floor:.2f} s；导入 / (解析＋数据库下限) = {total / (parse + floor):.1f}"
    )


def database_floor(batch, *, foreign_keys=True, indexes=True) -> float:
    """What the database alone needs to store the rows the import just wrote.

    The import's rows (clients, their categories, screening records) are read out with COPY TO;
    then, in a transaction that is rolled back, empty copies of the three tables are made with the
    same columns, indexes, checks and foreign keys (definitions read from pg_constraint), the rows
    are COPYed in and the deferred foreign-key checks are forced. This is the hand-written floor any
    import of these rows pays, whatever language prepares them; the copies start empty, so their
    indexes are cheaper to fill than the real tables' — the floor is if anything too low.
    """
    from django.db import connection

    tables = {
        "clients_client": f"unit_id = {batch.unit_id}",
        "clients_client_categories": f"client_id IN (SELECT id FROM clients_client WHERE unit_id = {batch.unit_id})",
        "screening_screeningrecord": f"import_batch_id = {batch.pk}",
    }
    data = {}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for table, condition in tables.items():
            buffer = bytearray()
            with raw.copy(f"COPY (SELECT * FROM {table} WHERE {condition}) TO STDOUT") as copy:  # noqa: S608
                for block in copy:
                    buffer += block
            data[table] = bytes(buffer)
        raw.execute("BEGIN")
        try:
            for table in tables:
                including = "INCLUDING ALL" if indexes else "INCLUDING ALL EXCLUDING INDEXES"
                raw.execute(f"CREATE TABLE floor_{table} (LIKE {table} {including})")
                if not indexes:
                    raw.execute(f"ALTER TABLE floor_{table} ADD PRIMARY KEY (id)")
                if not foreign_keys:
                    continue
                raw.execute(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for (definition,) in raw.fetchall():
                    raw.execute(f"ALTER TABLE floor_{table} ADD {definition}")
            started = time.perf_counter()
            for table in tables:
                with raw.copy(f"COPY floor_{table} FROM STDIN") as copy:
                    copy.write(data[table])
            raw.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return time.perf_counter() - started
        finally:
            raw.execute("ROLLBACK")


if __name__ == "__main__":
    main()
