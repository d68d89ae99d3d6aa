"""Scale benchmark: checks/s at N accounts against checks/s at 10,000 in the same run, on the database store.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/scale.py --accounts 100000 [--base 10000] [--hosts 3] [--concurrency 100]

PostgreSQL, Redis, real Celery workers and the loopback DC (python -m tests.mtproto_dc) over TCP. Sessions live in
the `database` store (SESSION_STORE=database): each worker "host" has its own empty data and vault directories, so
what it shares with the others is the database and the broker, as on separate machines. The fleet is imported
through session_import (the real path: sealed, audited, in teams), first --base accounts, then grown to N. At each
size every account is made due and beat's dispatch job queues them all; a pass ends when every account's check is
written. Measured at each size: the first check (every status changes), then the steady state (nothing changes)
with one worker process, then with --hosts workers named as --hosts hosts. The ratio R is steady checks/s at N over
steady checks/s at the base size, for each worker layout; the last line is the smaller of the two. Also printed at N:
worker CPU per steady check, the import, the account list (API) and console pages, the dashboard, /metrics.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import checks_counted, loopback_dc_start, p95, processes_stop, served_process  # noqa: E402

METRICS_TOKEN = "bench-metrics-token-" + "0" * 24
TEAMS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100, help="checks at a time per worker process")
    parser.add_argument("--rounds", type=int, default=40, help="requests per page measured")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL for this benchmark")
    if not 0 < args.base <= args.accounts or not 1 <= args.hosts <= 16:
        sys.exit("need 0 < --base <= --accounts and 1 <= --hosts <= 16")
    work = Path(tempfile.mkdtemp(prefix="tgfleet-bench-scale-"))
    from cryptography.fernet import Fernet

    dc, port, keys, pem = loopback_dc_start(work, args.accounts)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings", DATA_DIR=str(work / "bench"), SESSION_STORE="database",
        SESSION_STORE_DIR=str(work / "bench" / "vault"), SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{port}", TELEGRAM_SERVER_RSA_KEY_FILE=str(pem), TELEGRAM_API_ID="12345",
        TELEGRAM_CHECK_TIMEOUT="30", CHECK_CONCURRENCY=str(args.concurrency), CHECK_BATCH_SIZE="250",
        CHECK_DISPATCH_LIMIT=str(args.accounts), LOG_LEVEL="WARNING", METRICS_TOKEN=METRICS_TOKEN,
        ALLOWED_HOSTS="testserver",
    )  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    fleet_clear()
    from accounts.services import team_create
    from project.actors import SystemActor

    teams = [team_create(actor=SystemActor("bench"), name=f"bench-scale-{t}") for t in range(TEAMS)]
    lines: list[str] = []
    rates: dict[tuple[int, str], float] = {}
    try:
        imported = fleet_grow(keys[: args.base], port, teams)
        lines.append(
            f"import {args.base:,} sessions (database store)   {imported:7.2f} s  {args.base / imported:6.0f}/s"
        )
        rates |= passes(work, args, args.base, lines)
        imported += fleet_grow(keys[args.base :], port, teams, first=args.base)
        lines.append(f"import {args.accounts:,} sessions in all             {imported:7.2f} s  "
                     f"{args.accounts / imported:6.0f}/s  target <= 180 s at 100,000: "
                     f"{'met' if imported * 100_000 / args.accounts <= 180 else 'MISSED'}")  # fmt: skip
        rates |= passes(work, args, args.accounts, lines)
        lines += pages(args)
    finally:
        dc.send_signal(signal.SIGTERM)
        dc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"scale benchmark, {args.base:,} then {args.accounts:,} accounts, {os.cpu_count()} cores, database store, "
          f"{args.concurrency} checks at a time per worker process, batches of 250")  # fmt: skip
    print("fair: both sizes in one run on the same DC, database, broker and workers; every account due at once and "
          "queued by beat's own dispatch; steady state = a check that changes no status")  # fmt: skip
    for line in lines:
        print(line)
    ratios = {}
    for layout in ("one worker", f"{args.hosts} hosts"):
        ratios[layout] = rates[(args.accounts, layout)] / rates[(args.base, layout)]
        print(
            f"ratio {layout:<11} {ratios[layout]:5.2f}  target >= 0.9: {'met' if ratios[layout] >= 0.9 else 'MISSED'}"
        )
    print(f"ratio R {min(ratios.values()):.2f}")


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


def fleet_grow(keys: list[bytes], port: int, teams, first: int = 0) -> float:
    """Import one Telethon string session per key, 1,000 files a call, the calls' teams in turn; seconds taken."""
    from django.db import connection

    from accounts.services import session_import
    from accounts.sessions import InputFile, SessionFormat, SessionRecord, telethon_string_export
    from project.actors import SystemActor

    strings = [telethon_string_export(SessionRecord(2, "127.0.0.1", port, k, SessionFormat.TELETHON_STRING))
               for k in keys]  # fmt: skip
    started = time.perf_counter()
    for start in range(0, len(strings), 1000):
        files = [
            InputFile(f"a{first + start + i}.txt", s.encode()) for i, s in enumerate(strings[start : start + 1000])
        ]
        report = session_import(actor=SystemActor("bench"), files=files, team=teams[(start // 1000) % len(teams)])
        assert report.count("imported") == len(files), report.summary
    taken = time.perf_counter() - started
    with connection.cursor() as cursor:  # as autovacuum leaves tables some minutes after a bulk load
        cursor.execute("VACUUM ANALYZE")
    return taken


def passes(work: Path, args, size: int, lines: list[str]) -> dict[tuple[int, str], float]:
    """At this fleet size: a first check of whoever was never checked, then the steady state with one worker and
    with --hosts; returns steady checks/s per layout. Each layout's steady state is measured over N checks at
    every size (ten passes of 10,000 for 100,000), so both sizes carry the same autovacuum and history growth."""
    from accounts.models import TelegramAccount

    rates = {}
    layouts = [("one worker", 1), (f"{args.hosts} hosts", args.hosts)]
    rounds = max(1, args.accounts // size)
    for n, (layout, hosts) in enumerate(layouts):
        workers = workers_start(work, hosts, args.concurrency)
        try:
            if n == 0:
                fresh = TelegramAccount.objects.filter(last_checked_at__isnull=True).count()
                seconds, _, _ = checks_pass(workers, size, vacuum=True)
                lines.append(f"{size:>7,} accounts  first check ({fresh:,} new)  {layout:<10} {seconds:7.2f} s "
                             f"{size / seconds:7.1f} checks/s")  # fmt: skip
            before = tasks_per_worker()
            seconds = cpu = db = 0.0
            for r in range(rounds):
                took = checks_pass(workers, size, vacuum=r == 0)
                seconds, cpu, db = seconds + took[0], cpu + took[1], db + took[2]
            per_host = ", ".join(f"{host} {count - before.get(host, 0)}" for host, count in tasks_per_worker().items())
        finally:
            processes_stop(workers)
        checks = size * rounds
        rates[(size, layout)] = checks / seconds
        passes_run = f"{rounds} pass" + ("es" if rounds > 1 else "")
        lines.append(f"{size:>7,} accounts  steady state ({passes_run:>9}) {layout:<10} {seconds:7.2f} s "
                     f"{checks / seconds:7.1f} checks/s  CPU a check: workers {cpu / checks * 1000:.2f} ms (target "
                     f"<= 1: {'met' if cpu / checks <= 0.001 else 'MISSED'}), PostgreSQL {db / checks * 1000:.2f} ms  "
                     f"batches by host: {per_host}")  # fmt: skip
    return rates


def workers_start(work: Path, hosts: int, concurrency: int) -> list[subprocess.Popen]:
    """One worker process per "host", each with its own empty data and vault directories."""
    workers = []
    for h in range(1, hosts + 1):
        home = work / f"host{h}"
        env = dict(os.environ, DATA_DIR=str(home / "data"), SESSION_STORE_DIR=str(home / "vault"),
                   CHECK_CONCURRENCY=str(concurrency))  # fmt: skip
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


def tasks_per_worker() -> dict[str, int]:
    """Check batches each worker has run since it started, by host name."""
    from project.celery import app

    stats = app.control.inspect(timeout=2).stats() or {}
    return {name.split("@")[1]: s.get("total", {}).get("accounts.checks_batch", 0) for name, s in sorted(stats.items())}


def checks_pass(workers: list[subprocess.Popen], size: int, *, vacuum: bool) -> tuple[float, float, float]:
    """Every account due, beat's dispatch queues them: (seconds until every check is written, the workers' CPU
    seconds, PostgreSQL's). ``vacuum``: VACUUM ANALYZE first (else autovacuum keeps up, as in a running fleet)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import TelegramAccount
    from accounts.tasks import checks_dispatch_task

    TelegramAccount.objects.update(next_check_at=timezone.now())
    if vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE accounts_telegramaccount")
    counted = checks_counted()
    since = timezone.now()
    sessions = {w.pid for w in workers}
    cpu, db = cpu_seconds(lambda name, sid: sid in sessions), cpu_seconds(lambda name, sid: name == "postgres")
    started = time.perf_counter()
    queued = checks_dispatch_task.delay().get(timeout=300)
    assert queued == size, (queued, size)
    while checks_counted() - counted < size:
        if time.perf_counter() - started > 3600:
            sys.exit("a pass took more than an hour")
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(lambda name, sid: sid in sessions) - cpu
    db = cpu_seconds(lambda name, sid: name == "postgres") - db
    checked = TelegramAccount.objects.filter(last_checked_at__gte=since, status="ok").count()
    assert checked == size, f"{checked} of {size} accounts checked ok"
    return seconds, cpu, db


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
