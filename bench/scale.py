"""Scale benchmark: checks/s at N accounts against checks/s at 10,000 in the same run, on the database store.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/scale.py --accounts 100000 [--base 10000] [--hosts 3] [--concurrency 100] [--pairs 3]

PostgreSQL, Redis, real Celery workers and the loopback DC (python -m tests.mtproto_dc) over TCP. Sessions live in
the `database` store (SESSION_STORE=database): each worker "host" has its own empty data and vault directories, so
what it shares with the others is the database and the broker, as on separate machines. Two fleets live side by side:
N accounts in DATABASE_URL's database and --base accounts in a database of the same name with "_base" after it
(created, and dropped at the end), each imported through session_import (the real path: sealed, audited, in teams).
Each pass makes accounts due and beat's dispatch job queues them; a pass ends when every one's check is written. Measured at each size: the first
check of the whole fleet (every status changes) with one worker; then the steady state (nothing changes) with one
worker process and with --hosts workers named as --hosts hosts, over --accounts checks in passes of --base due
accounts at both sizes (ten passes of 10,000: the whole base fleet each time, a tenth of the larger fleet in turn),
so a pass has the same shape, start and tail at both sizes and only the fleet's size differs. The steady state runs
in --pairs pairs: each pair measures both sizes back to back, in alternating order (the smaller first in even
pairs), so a drift of the machine's speed through the run falls on both alike. The ratio R of a layout is the median
of its pairs' (steady checks/s at N over steady checks/s at the base size); the last line is the smaller of the two
layouts'. Also printed at N: worker CPU per steady check, the import, the account list (API) and console pages, the
dashboard, /metrics.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    checks_awaited,
    checks_counted,
    loopback_dc_start,
    p95,
    processes_stop,
    served_process,
)

METRICS_TOKEN = "bench-metrics-token-" + "0" * 24
TEAMS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100, help="checks at a time per worker process")
    parser.add_argument("--pairs", type=int, default=3, help="steady-state pairs (base, N) per worker layout")
    parser.add_argument("--rounds", type=int, default=40, help="requests per page measured")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL for this benchmark")
    if not 0 < args.base < args.accounts or not 1 <= args.hosts <= 16 or args.pairs < 1:
        sys.exit("need 0 < --base < --accounts, 1 <= --hosts <= 16 and --pairs >= 1")
    main_db = urlsplit(url).path.lstrip("/")
    if not main_db:
        sys.exit("DATABASE_URL must name its database")
    databases = {args.accounts: main_db, args.base: f"{main_db}_base"}
    database_recreate(url, databases[args.base])
    work = Path(tempfile.mkdtemp(prefix="tgfleet-bench-scale-"))
    from cryptography.fernet import Fernet

    dc, port, keys, pem = loopback_dc_start(work, args.accounts)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings", DATA_DIR=str(work / "bench"), SESSION_STORE="database",
        SESSION_STORE_DIR=str(work / "bench" / "vault"), SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{port}", TELEGRAM_SERVER_RSA_KEY_FILE=str(pem), TELEGRAM_API_ID="12345",
        TELEGRAM_CHECK_TIMEOUT="30", CHECK_CONCURRENCY=str(args.concurrency),
        CHECK_INTERVAL_SECONDS="86400",  # a checked account is not due again within the run: each pass is its own
        CHECK_DISPATCH_LIMIT=str(args.accounts), LOG_LEVEL="WARNING", METRICS_TOKEN=METRICS_TOKEN,
        ALLOWED_HOSTS="testserver",
    )  # fmt: skip
    for name in databases.values():
        env = dict(os.environ, DATABASE_URL=database_url(url, name))
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.conf import settings

    lines: list[str] = []
    layouts = [("one worker", 1), (f"{args.hosts} hosts", args.hosts)]
    ratios: dict[str, list[float]] = {layout: [] for layout, _ in layouts}
    try:
        for size in (args.base, args.accounts):  # each fleet imported into its own database, timed
            fleet_use(databases[size])
            imported = fleet_import(keys[:size], port)
            met = "met" if imported * 100_000 / size <= 180 else "MISSED"
            lines.append(f"import {size:,} sessions (database store)  {imported:7.2f} s  {size / imported:6.0f}/s"
                         + (f"  target <= 180 s at 100,000: {met}" if size == args.accounts else ""))  # fmt: skip
        for size in (args.base, args.accounts):
            fleet_use(databases[size])
            lines.append(first_check(work, url, databases[size], args))
        cost = {layout: [0.0, 0.0, 0] for layout, _ in layouts}  # at N: workers' CPU, PostgreSQL's, checks
        for layout, hosts in layouts:
            for pair in range(args.pairs):
                order = (args.base, args.accounts) if pair % 2 == 0 else (args.accounts, args.base)
                rates = {}
                for size in order:
                    fleet_use(databases[size])
                    rates[size], cpu, db, checks, per_host = steady(work, url, databases[size], hosts, args)
                    if size == args.accounts:
                        cost[layout] = [cost[layout][0] + cpu, cost[layout][1] + db, cost[layout][2] + checks]
                    lines.append(f"{size:>7,} accounts  steady state  {layout:<10} pair {pair + 1}: "
                                 f"{rates[size]:7.1f} checks/s  ({checks:,} checks)  batches by host: {per_host}")  # fmt: skip
                ratios[layout].append(rates[args.accounts] / rates[args.base])
                lines.append(f"pair {pair + 1} {layout:<10} ratio {ratios[layout][-1]:5.2f}"
                             f"  ({'smaller' if order[0] == args.base else 'larger'} size first)")  # fmt: skip
            cpu, db, checks = cost[layout]
            lines.append(f"{args.accounts:>7,} accounts  steady state  {layout:<10} CPU a check: workers "
                         f"{cpu / checks * 1000:.2f} ms (target <= 1: {'met' if cpu / checks <= 0.001 else 'MISSED'}), "
                         f"PostgreSQL {db / checks * 1000:.2f} ms")  # fmt: skip
        fleet_use(databases[args.accounts])
        lines += pages(args)
    finally:
        dc.send_signal(signal.SIGTERM)
        dc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
        fleet_use(databases[args.accounts])
        database_drop(url, databases[args.base])
    print(f"scale benchmark, {args.base:,} and {args.accounts:,} accounts, {os.cpu_count()} cores, database store, "
          f"{args.concurrency} checks at a time per worker process, batches of {settings.CHECK_BATCH_SIZE}")  # fmt: skip
    print("fair: both sizes in one run on the same DC, PostgreSQL server, broker and workers, each fleet in its own "
          "database; accounts made due and queued by beat's own dispatch; steady state = a check that changes no "
          "status, in passes of the same number of due accounts at both sizes, each vacuumed before its clock (as "
          "autovacuum keeps up); both sizes measured over the same number of checks, in pairs back to back in "
          "alternating order; R = the median of a layout's pairs")  # fmt: skip
    for line in lines:
        print(line)
    medians = {}
    for layout, values in ratios.items():
        medians[layout] = statistics.median(values)
        print(f"ratio {layout:<11} {medians[layout]:5.2f}  (median of {len(values)}, "
              f"{min(values):.2f}-{max(values):.2f})  target >= 0.9: {'met' if medians[layout] >= 0.9 else 'MISSED'}")  # fmt: skip
    print(f"ratio R {min(medians.values()):.2f}")


def database_url(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def database_recreate(url: str, name: str) -> None:
    """The base fleet's own database, empty (on the server DATABASE_URL names)."""
    database_drop(url, name)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fleet_use(name: str) -> None:
    """This process's Django on that fleet's database from now on (the workers of a pass get its URL)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
        ContentType.objects.clear_cache()


def fleet_import(keys: list[bytes], port: int) -> float:
    """A clean database, its teams, then every key imported: seconds the import took."""
    from accounts.services import team_create
    from project.actors import SystemActor

    fleet_clear()
    teams = [team_create(actor=SystemActor("bench"), name=f"bench-scale-{t}") for t in range(TEAMS)]
    return fleet_grow(keys, port, teams)


def fleet_clear() -> None:
    """A clean slate: this database is the benchmark's."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from accounts.models import Team
    from audit.models import AuditChainHead

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute("TRUNCATE audit_auditevent, accounts_checkrecord, accounts_checkhour, accounts_statustransition,"
                       " accounts_accountgroupobjectpermission, accounts_telegramaccount CASCADE")  # fmt: skip
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_append_only")
    AuditChainHead.objects.update_or_create(pk=1, defaults={"sequence": 0, "hash": "0" * 64})
    Team.objects.all().delete()
    Group.objects.filter(name__startswith="team:bench-scale-").delete()
    get_user_model().objects.filter(username__startswith="bench-").delete()


def fleet_grow(keys: list[bytes], port: int, teams) -> float:
    """Import one Telethon string session per key, 1,000 files a call, the calls' teams in turn; seconds taken."""
    from django.db import connection

    from accounts.services import session_import
    from accounts.sessions import InputFile, SessionFormat, SessionRecord, telethon_string_export
    from project.actors import SystemActor

    strings = [telethon_string_export(SessionRecord(2, "127.0.0.1", port, k, SessionFormat.TELETHON_STRING))
               for k in keys]  # fmt: skip
    started = time.perf_counter()
    for start in range(0, len(strings), 1000):
        files = [InputFile(f"a{start + i}.txt", s.encode()) for i, s in enumerate(strings[start : start + 1000])]
        report = session_import(actor=SystemActor("bench"), files=files, team=teams[(start // 1000) % len(teams)])
        assert report.count("imported") == len(files), report.summary
    taken = time.perf_counter() - started
    with connection.cursor() as cursor:  # as autovacuum leaves tables some minutes after a bulk load
        cursor.execute("VACUUM ANALYZE")
    return taken


def first_check(work: Path, url: str, name: str, args) -> str:
    """The first check of a whole fleet (every account unchecked: every status changes), with one worker."""
    workers = workers_start(work, 1, args.concurrency, database_url(url, name))
    try:
        seconds, _, _, size = checks_pass(workers)
    finally:
        workers_stop(workers)
    return f"{size:>7,} accounts  first check (all new)  one worker {seconds:7.2f} s {size / seconds:7.1f} checks/s"


def steady(work: Path, url: str, name: str, hosts: int, args) -> tuple[float, float, float, int, str]:
    """The steady state of a fleet with ``hosts`` workers: --accounts checks in passes of --base due accounts (ten
    passes of 10,000 at both sizes: all of the base fleet each time, a tenth of the larger one in turn), so each
    pass has the same shape, start and tail at both sizes. (checks/s, workers' CPU seconds, PostgreSQL's, checks,
    batches run by each host)."""
    from accounts.models import TelegramAccount

    ids = list(TelegramAccount.objects.order_by("pk").values_list("pk", flat=True))
    groups = [
        (part[0], part[-1]) for start in range(0, len(ids), args.base) if (part := ids[start : start + args.base])
    ]
    passes = [groups[r % len(groups)] for r in range(args.accounts // args.base)]
    workers = workers_start(work, hosts, args.concurrency, database_url(url, name))
    try:
        before = tasks_per_worker()
        seconds = cpu = db = 0.0
        checks = 0
        for due in passes:
            took = checks_pass(workers, due)
            seconds, cpu, db, checks = seconds + took[0], cpu + took[1], db + took[2], checks + took[3]
        per_host = ", ".join(f"{host} {count - before.get(host, 0)}" for host, count in tasks_per_worker().items())
    finally:
        workers_stop(workers)
    return checks / seconds, cpu, db, checks, per_host


def workers_start(work: Path, hosts: int, concurrency: int, database: str) -> list[subprocess.Popen]:
    """One worker process per "host" on the ``database`` URL's fleet, each with its own empty data and vault
    directories."""
    workers = []
    for h in range(1, hosts + 1):
        home = work / f"host{h}"
        env = dict(os.environ, DATA_DIR=str(home / "data"), SESSION_STORE_DIR=str(home / "vault"),
                   CHECK_CONCURRENCY=str(concurrency), DATABASE_URL=database)  # fmt: skip
        workers.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "project", "worker", "-l", "WARNING", "--concurrency",
             "1", "-n", f"worker@host{h}"], cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL))  # fmt: skip
    from project.celery import app

    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=1) or []) < hosts:  # every worker answers before the clock starts
        if time.monotonic() > deadline:
            processes_stop(workers)
            sys.exit("workers did not come up in 60 s")
    return workers


def workers_stop(workers: list[subprocess.Popen]) -> None:
    """A warm shutdown (SIGTERM to each worker's main process): a task still finishing after its checks were written
    ends first, so no message is handed back to the broker for the next fleet's workers to take."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    try:
        for worker in workers:
            worker.wait(120)
    finally:
        processes_stop([w for w in workers if w.poll() is None])


def tasks_per_worker() -> dict[str, int]:
    """Check batches each worker has run since it started, by host name."""
    from project.celery import app

    stats = app.control.inspect(timeout=2).stats() or {}
    return {name.split("@")[1]: s.get("total", {}).get("accounts.checks_batch", 0) for name, s in sorted(stats.items())}


def checks_pass(workers: list[subprocess.Popen], due: tuple[int, int] | None = None) -> tuple[float, float, float, int]:
    """The accounts of ``due`` (an id range; None: all) due, beat's dispatch queues them: (seconds until every one's
    check is written, the workers' CPU seconds, PostgreSQL's, checks). VACUUM ANALYZE first, outside the clock, as
    autovacuum keeps up with a running fleet (it is off on some machines' PostgreSQL, this one's included)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import TelegramAccount
    from accounts.tasks import checks_dispatch_task

    chosen = TelegramAccount.objects.all() if due is None else TelegramAccount.objects.filter(pk__range=due)
    size = chosen.update(next_check_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_telegramaccount")
    counted = checks_counted()
    since = timezone.now()
    sessions = {w.pid for w in workers}
    cpu, db = cpu_seconds(lambda name, sid: sid in sessions), cpu_seconds(lambda name, sid: name == "postgres")
    started = time.perf_counter()
    queued = checks_dispatch_task.delay().get(timeout=300)
    assert queued == size, (queued, size)
    seconds = checks_awaited(counted, size, started, limit=3600)
    cpu = cpu_seconds(lambda name, sid: sid in sessions) - cpu
    db = cpu_seconds(lambda name, sid: name == "postgres") - db
    checked = chosen.filter(last_checked_at__gte=since, status="ok").count()
    assert checked == size, f"{checked} of {size} accounts checked ok"
    return seconds, cpu, db, size


def cpu_seconds(chosen) -> float:
    """CPU seconds (user + system, with reaped children) of the processes ``chosen(name, session id)`` picks."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name, fields = raw[raw.index("(") + 1 : raw.rindex(")")], raw.rsplit(")", 1)[1].split()
        if chosen(name, int(fields[3])):
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def pages(args) -> list[str]:
    """The account list (API), the console's list and dashboard, and /metrics, at N accounts."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.db import connection

    with connection.cursor() as cursor:  # the passes' updates vacuumed, as autovacuum does between them and now
        cursor.execute("VACUUM ANALYZE")
    served_process()

    from accounts.models import Team
    from tests.two_factor import TwoFactorClient as Client  # signs in through two-factor where needed

    users = get_user_model().objects
    admin = users.create_user("bench-admin", password="x-bench-password-1", is_staff=True)
    admin.groups.add(Group.objects.get(name="admin"))
    operator = users.create_user("bench-operator", password="x-bench-password-1", is_staff=True)
    team = Team.objects.get(name="bench-scale-0")
    operator.groups.add(Group.objects.get(name="operator"), team.group)

    def timed(url: str, user=None, cold: bool = False, **headers) -> list[float]:
        client = Client(**headers)
        if user is not None:
            client.force_login(user)
        assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(args.rounds):
            if cold:
                cache.clear()
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    measures = [
        ("API account list, operator", timed("/api/v1/accounts", operator), 50),
        ("dashboard, operator, warm", timed("/admin/", operator), 150),
        ("dashboard, admin, cold", timed("/admin/", admin, cold=True), 300),
        ("console account list, operator", timed("/admin/accounts/telegramaccount/", operator), 150),
        ("/metrics", timed("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}"), 100),
    ]
    import statistics

    return [f"{name:<31} at {args.accounts:,}: p50 {statistics.median(s):6.1f} ms  p95 {p95(s):6.1f} ms  "
            f"target <= {target} ms: {'met' if p95(s) <= target else 'MISSED'}" for name, s, target in measures]  # fmt: skip


if __name__ == "__main__":
    main()
