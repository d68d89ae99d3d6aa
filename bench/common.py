"""What the benchmarks share: percentiles, a Django set up on the benchmark's PostgreSQL, stopping processes."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def django_on_postgres(data_dir: str, *, collectstatic: bool = False) -> None:
    """Migrate the PostgreSQL database DATABASE_URL names (the benchmark's own) and set Django up in-process."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must point at a PostgreSQL database for this benchmark")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DATA_DIR", data_dir)
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the in-process test client
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    if collectstatic:
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def served_process() -> None:
    """Start-up as gunicorn's workers do it (project.wsgi: every view loaded, the heap frozen), so pages timed in
    this process through the test client pay what they pay when served, no full collections of the start-up heap."""
    import project.wsgi  # noqa: F401


def processes_stop(processes: Iterable[subprocess.Popen], timeout: float = 60) -> None:
    """SIGTERM each process group (started with start_new_session), then wait for every one."""
    processes = list(processes)
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout)


def loopback_dc_start(work: Path, accounts: int) -> tuple[subprocess.Popen, int, list[bytes], Path]:
    """A standalone loopback DC (python -m tests.mtproto_dc) that knows `accounts` fresh auth keys, and the RSA
    public key file checks are told to trust: (process, port, keys, pem path)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = work / "server.pem"
    pem.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))  # fmt: skip
    keys = [os.urandom(256) for _ in range(accounts)]
    keys_file = work / "keys.txt"
    keys_file.write_text("".join(k.hex() + "\n" for k in keys))
    dc = subprocess.Popen([sys.executable, "-m", "tests.mtproto_dc", "--keys", str(keys_file)], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True)  # fmt: skip
    port = int(dc.stdout.readline().strip().rsplit(":", 1)[1])
    return dc, port, keys, pem


def checks_counted() -> int:
    """Checks recorded so far, from the hourly counts each batch adds to: a few rows, so polling it while a pass
    runs costs the database nothing next to counting the accounts' rows (which would be charged to ours). One plain
    statement, not the ORM's aggregate: a pass polls it a few hundred times while ours runs, and the ORM's 0.76 ms
    of this process's CPU a poll (0.15 ms plain) was charged to ours too."""
    from django.db import connection

    from accounts.models import CheckHour

    table = connection.ops.quote_name(CheckHour._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(count), 0) FROM {table}")  # noqa: S608 (our table)
        return int(cursor.fetchone()[0])


def checks_awaited(counted: int, n: int, started: float, limit: float) -> float:
    """Wait until ``n`` checks more than ``counted`` are recorded (checks_counted); the seconds since ``started``
    (perf_counter) when they are. Polled every 100 ms until nine tenths are in, then every 10 ms: a pass's end is
    seen within 10 ms without polling all along (a baseline's end is exact). Exits past ``limit`` seconds."""
    while (done := checks_counted() - counted) < n:
        if time.perf_counter() - started > limit:
            sys.exit(f"a pass took more than {limit:.0f} s")
        time.sleep(0.1 if done < n * 0.9 else 0.01)
    return time.perf_counter() - started
