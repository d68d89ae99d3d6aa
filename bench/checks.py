"""Checks benchmark: 10,000 accounts through the real pipeline vs a bare Telethon loop, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/checks.py [--accounts 10000] [--concurrency 100]

Both sides talk to the same standalone loopback DC (python -m tests.mtproto_dc) over TCP.
- baseline: one process, Telethon's TelegramClient per session: connect, users.getUsers, disconnect,
  with `--concurrency` sessions at a time;
- ours: the beat job's task sent through Redis to Celery workers (2 processes, each running its
  batches with concurrency/2), gateway, DC, status rows in PostgreSQL; timed until every account's
  row is written.
Prints checks per second for both and the ratio (ours / baseline throughput).
"""

from __future__ import annotations

import argparse
import asyncio
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
from bench.common import processes_stop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
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
        CHECK_CONCURRENCY=str(max(1, args.concurrency // args.workers)), CHECK_BATCH_SIZE="250",
        CHECK_DISPATCH_LIMIT=str(args.accounts), LOG_LEVEL="WARNING",
    )  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from telethon import TelegramClient, functions, types
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

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

    async def bare_loop() -> int:
        gate = asyncio.Semaphore(args.concurrency)
        ok = 0

        async def one(key: bytes) -> None:
            nonlocal ok
            async with gate:
                session = StringSession()
                session.set_dc(2, "127.0.0.1", port)
                session.auth_key = AuthKey(key)
                client = TelegramClient(session, 12345, "0" * 32, receive_updates=False, flood_sleep_threshold=0)
                await client.connect()
                await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
                await client.disconnect()
                ok += 1

        await asyncio.gather(*(one(k) for k in keys))
        return ok

    started = time.perf_counter()
    baseline_ok = asyncio.run(bare_loop())
    baseline = time.perf_counter() - started

    workers = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "project",
                "worker",
                "-l",
                "WARNING",
                "--concurrency",
                "1",
                "-n",
                f"bench{i}@%h",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            start_new_session=True,
        )
        for i in range(args.workers)
    ]
    try:
        time.sleep(6)  # workers up before the clock starts
        started = time.perf_counter()
        queued = checks_dispatch_task.delay().get(timeout=120)
        while TelegramAccount.objects.filter(last_checked_at__isnull=False).count() < args.accounts:
            if time.perf_counter() - started > 600:
                break
            time.sleep(0.1)
        ours = time.perf_counter() - started
    finally:
        processes_stop(workers)
        dc.send_signal(signal.SIGTERM)
        dc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    checked = TelegramAccount.objects.filter(last_checked_at__isnull=False).count()
    ok = TelegramAccount.objects.filter(status="ok").count()
    n = args.accounts
    print(f"checks benchmark, {n} accounts, concurrency {args.concurrency}, {os.cpu_count()} cores")
    print(
        f"baseline  bare Telethon loop       {baseline:6.2f} s  {baseline_ok / baseline:7.1f} checks/s  ({baseline_ok} ok)"
    )
    print(
        f"ours      beat job -> {args.workers} workers   {ours:6.2f} s  {checked / ours:7.1f} checks/s  "
        f"({queued} queued, {checked} rows written, {ok} ok)"
    )
    print(f"ratio (ours / baseline throughput) {(checked / ours) / (baseline_ok / baseline):5.2f}  target >= 0.8: "
          f"{'met' if (checked / ours) >= 0.8 * (baseline_ok / baseline) else 'MISSED'};  "
          f"10,000 within 60 s: {'met' if ours < 60 and checked == n else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
