"""Checks benchmark: N accounts through the real pipeline vs a bare Telethon baseline doing the same, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/checks.py [--accounts 10000] [--concurrency 100] [--workers 2] [--first-rounds 3] \\
        [--rounds 9]

Fair by construction (and printed at the top of the output): both sides talk to the same standalone loopback DC
(python -m tests.mtproto_dc) over TCP; both send exactly the requests our check sends per account (Telethon's
MTProtoSender: connect, invokeWithLayer(initConnection(help.getConfig)), users.getUsers(self), disconnect); both
run in --workers processes with --concurrency checks at a time in all, started (Telethon imported) before any clock
starts. Ours adds what a real deployment does: the beat job through Redis, leases, each session decrypted from the
vault, results written to PostgreSQL, the alert hook, metrics written per process (PROMETHEUS_MULTIPROC_DIR, as
compose runs them). Ours runs the first check (every status changes: unchecked -> ok, transitions, alert hook)
--first-rounds times (every account set back to unchecked before each again) and the steady state (nothing changes)
--rounds times; each of our passes is paired with a baseline pass next to it (before it, or after it in every
other round, so a drift of the machine's speed through the run falls on both sides alike). Prints every pair's
passes and ratio (ours / baseline) and, for each of the two, the median of its rounds' ratios.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import checks_awaited, checks_counted, processes_stop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="accounts per worker task (default: the product's, CHECK_BATCH_SIZE)")  # fmt: skip
    parser.add_argument("--first-rounds", type=int, default=3, help="first-check pairs (baseline, ours) to run")
    parser.add_argument("--rounds", type=int, default=9, help="steady-state pairs (baseline, ours) to run")
    args = parser.parse_args()
    batch = 1 if args.batch_size is None else args.batch_size
    if min(args.rounds, args.first_rounds, args.accounts, args.workers, batch) < 1 or args.concurrency < args.workers:
        sys.exit("--rounds, --first-rounds, --accounts, --workers and --batch-size must be at least 1, --concurrency "
                 "at least --workers")  # fmt: skip
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL for this benchmark")
    work = Path(tempfile.mkdtemp(prefix="tgfleet-bench-checks-"))
    from cryptography.fernet import Fernet

    from bench.common import loopback_dc_start

    dc, port, keys, pem = loopback_dc_start(work, args.accounts)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings", DATA_DIR=str(work / "data"), SESSION_STORE_DIR=str(work / "vault"),
        SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(), TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{port}",
        TELEGRAM_SERVER_RSA_KEY_FILE=str(pem), TELEGRAM_API_ID="12345", TELEGRAM_CHECK_TIMEOUT="30",
        CHECK_CONCURRENCY=str(max(1, args.concurrency // args.workers)),
        CHECK_DISPATCH_LIMIT=str(args.accounts), LOG_LEVEL="WARNING",
        PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),  # as deployed (compose): each worker writes its metrics
    )  # fmt: skip
    if args.batch_size is not None:
        os.environ["CHECK_BATCH_SIZE"] = str(args.batch_size)
    (work / "prometheus").mkdir()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from accounts.models import TelegramAccount
    from accounts.services import session_import
    from accounts.sessions import InputFile, SessionFormat, SessionRecord, telethon_string_export
    from accounts.tasks import checks_dispatch_task
    from project.actors import SystemActor

    TelegramAccount.objects.all().delete()
    strings = [
        telethon_string_export(SessionRecord(2, "127.0.0.1", port, k, SessionFormat.TELETHON_STRING)) for k in keys
    ]
    for start in range(0, len(strings), 1000):
        files = [InputFile(f"a{start + i}.txt", s.encode()) for i, s in enumerate(strings[start : start + 1000])]
        session_import(actor=SystemActor("bench"), files=files)

    per_process = max(1, args.concurrency // args.workers)
    slices = [keys[i :: args.workers] for i in range(args.workers)]
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(args.workers + 1)
    pool = context.Pool(args.workers, initializer=bare_ready, initargs=(ready,))
    workers: list[subprocess.Popen] = []
    n = args.accounts

    def baseline_pass() -> float:
        started = time.perf_counter()
        ok = sum(pool.starmap(bare_checks, [(chunk, port, per_process) for chunk in slices]))
        assert ok == n, f"baseline: {ok} of {n} checks ok"
        return n / (time.perf_counter() - started)

    def ours_rate() -> float:
        return n / ours_pass(checks_dispatch_task, TelegramAccount, n)[0]

    def paired(round_: int) -> tuple[float, float]:
        """(baseline, ours): the baseline's pass first in even rounds, ours first in odd ones, so a drift of the
        machine's speed through the run falls on both sides alike."""
        if round_ % 2 == 0:
            base = baseline_pass()
            return base, ours_rate()
        ours = ours_rate()
        return baseline_pass(), ours

    try:
        ready.wait(120)  # the baseline's processes are up with Telethon imported, as our workers are, before any clock
        workers += [
            subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "project", "worker", "-l", "WARNING",
                              "--concurrency", "1", "-n", f"bench{i}@%h"],
                             cwd=ROOT, env=dict(os.environ), start_new_session=True)
            for i in range(args.workers)
        ]  # fmt: skip
        time.sleep(6)  # workers up before the clock starts
        first_pairs, steady_pairs = [], []
        for round_ in range(args.first_rounds):
            if round_:  # every account unchecked again: each check changes its status, as on the first check
                due_all(TelegramAccount, status="unchecked", next_check_at=None)
            first_pairs.append(paired(round_))
        for round_ in range(args.rounds):
            due_all(TelegramAccount, next_check_at=timezone.now())  # all due again; no status will change
            steady_pairs.append(paired(round_))
    finally:
        pool.terminate()
        processes_stop(workers)
        dc.send_signal(signal.SIGTERM)
        dc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    ok = TelegramAccount.objects.filter(status="ok").count()
    print(f"checks benchmark, {n} accounts, {args.workers} processes a side, {args.concurrency} checks at a time in "
          f"all, batches of {settings.CHECK_BATCH_SIZE}, {os.cpu_count()} cores, {args.first_rounds} first-check and "
          f"{args.rounds} steady rounds")  # fmt: skip
    print("fair: the same DC process, the same requests per account (connect, initConnection+getConfig, "
          "users.getUsers, disconnect), the same process count and concurrency on both sides, both sides' processes "
          "started before the clock and with the collector set alike (project.heap: the start-up heap frozen, a "
          "young generation of 20,000); ours with its metrics in PROMETHEUS_MULTIPROC_DIR as deployed; each pass of "
          "ours paired with a baseline pass next to it, in alternating order; a first check again is every account "
          "set back to unchecked; each round's setup (one UPDATE of every account) vacuumed before the clock, as "
          "autovacuum would")  # fmt: skip
    for name, pairs in (("first check (all change)", first_pairs), ("steady (no change)", steady_pairs)):
        for i, (base, ours) in enumerate(pairs, 1):
            print(f"{name} round {i}: baseline {base:7.1f} checks/s  ours {ours:7.1f} checks/s  "
                  f"ratio {ours / base:5.2f}")  # fmt: skip
    print(f"accounts ok after the run: {ok} of {n}")
    firsts = sorted(ours / base for base, ours in first_pairs)
    first = statistics.median(firsts)
    ratios = sorted(ours / base for base, ours in steady_pairs)
    steady = statistics.median(ratios)
    print(f"ratio first  {first:5.2f}  (median of {len(firsts)}, {firsts[0]:.2f}-{firsts[-1]:.2f})  target >= 0.6: "
          f"{'met' if first >= 0.6 else 'MISSED'}")  # fmt: skip
    print(f"ratio steady {steady:5.2f}  (median of {len(ratios)}, {ratios[0]:.2f}-{ratios[-1]:.2f})  target >= 0.8: "
          f"{'met' if steady >= 0.8 else 'MISSED'}")  # fmt: skip


def due_all(accounts, **fields) -> None:
    """Set up a round: every account's ``fields`` in one UPDATE, then VACUUM ANALYZE, as autovacuum (on by default,
    in compose's PostgreSQL too; off on this machine's) keeps up with a running fleet. Without it the setup's new
    row versions and index entries were left to whichever pass came next, and dead rows piled up round after
    round."""
    from django.db import connection

    accounts.objects.update(**fields)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(accounts._meta.db_table)}")


def bare_ready(ready) -> None:
    """A baseline process's start-up: what `bare_checks` imports, then wait for the others."""
    import telethon.network
    import telethon.tl.functions  # noqa: F401

    ready.wait(120)


def ours_pass(dispatch, accounts, n: int) -> tuple[float, int]:
    """Queue every due account through the beat job; seconds until every one's row says it was checked."""
    from django.utils import timezone

    counted, since = checks_counted(), timezone.now()
    started = time.perf_counter()
    queued = dispatch.delay().get(timeout=120)
    seconds = checks_awaited(counted, n, started, limit=900)
    checked = accounts.objects.filter(last_checked_at__gte=since).count()
    assert checked == n, f"{checked} of {n} accounts checked"
    return seconds, queued


def bare_checks(keys: list[bytes], port: int, concurrency: int) -> int:
    """One baseline process: the same requests as our gateway, with Telethon alone."""
    import asyncio
    import logging

    from telethon.crypto import AuthKey
    from telethon.network import ConnectionTcpFull, MTProtoSender
    from telethon.tl import functions, types
    from telethon.tl.alltlobjects import LAYER

    from project.heap import worker_heap_settle

    worker_heap_settle()  # the collector set as in our workers (project.celery): frozen start-up heap, wide young gen

    loggers = {name: logging.getLogger(name) for name in ("telethon.network.mtprotosender",
               "telethon.network.connection.connection", "telethon.network.mtprotostate",
               "telethon.extensions.messagepacker")}  # fmt: skip

    class Loggers(dict):
        def __missing__(self, key):
            self[key] = logging.getLogger(key)
            return self[key]

    async def run() -> int:
        gate = asyncio.Semaphore(concurrency)
        ok = 0

        async def one(key: bytes) -> None:
            nonlocal ok
            async with gate:
                sender = MTProtoSender(AuthKey(key), loggers=Loggers(loggers), retries=1, delay=0,
                                       auto_reconnect=False, connect_timeout=30)  # fmt: skip
                await sender.connect(ConnectionTcpFull("127.0.0.1", port, 2, loggers=Loggers(loggers)))
                init = functions.InitConnectionRequest(api_id=12345, device_model="bench", system_version="Linux",
                                                       app_version="1.0", system_lang_code="en", lang_pack="",
                                                       lang_code="en", query=functions.help.GetConfigRequest())  # fmt: skip
                await sender.send(functions.InvokeWithLayerRequest(LAYER, init))
                await sender.send(functions.users.GetUsersRequest([types.InputUserSelf()]))
                await sender.disconnect()
                ok += 1

        await asyncio.gather(*(one(k) for k in keys))
        return ok

    return asyncio.run(run())


if __name__ == "__main__":
    main()
