"""Proxies benchmark: 10,000 checks through 50 loopback SOCKS5 proxies vs the same checks direct, same run.

    .venv/bin/python bench/proxies.py [--accounts 10000] [--proxies 50] [--concurrency 100]

One standalone loopback DC (python -m tests.mtproto_dc) and, in another process, 50 loopback SOCKS5 proxies with
username/password (python -m tests.proxies) in front of it. Both sides run tgfleet's own check path
(leases, vault, Telethon's sender, status rows; CHECK_CONCURRENCY checks at a time on one event loop):
- baseline: every account direct;
- ours: every account behind its proxy (spread 200 a proxy by `proxies_spread`), so each check adds the SOCKS5
  handshake and a relay hop.
Prints checks per second for both and the ratio (proxied / direct throughput); target >= 0.7.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHUNK = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--proxies", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tgfleet-bench-proxies-"))
    from cryptography.fernet import Fernet

    from bench.common import loopback_dc_start

    dc, port, keys, pem = loopback_dc_start(work, args.accounts)
    relay = subprocess.Popen([sys.executable, "-m", "tests.proxies", "--count", str(args.proxies), "--username",
                              "bench", "--password", "bench-pass-1"], cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    proxy_ports = [int(p) for p in relay.stdout.readline().split()[2:]]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings", DATA_DIR=str(work / "data"), SESSION_STORE_DIR=str(work / "vault"),
        SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(), TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{port}",
        TELEGRAM_SERVER_RSA_KEY_FILE=str(pem), TELEGRAM_API_ID="12345", TELEGRAM_CHECK_TIMEOUT="30",
        CHECK_CONCURRENCY=str(args.concurrency), LOG_LEVEL="WARNING",
    )  # fmt: skip
    os.environ.pop("DATABASE_URL", None)  # the embedded SQLite in the work folder: both sides write the same way
    os.environ.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from accounts.models import Team, TelegramAccount
    from accounts.services import session_import, team_create
    from accounts.services.checks import checks_run, leases_held
    from accounts.services.proxies import proxies_import, proxies_spread
    from accounts.sessions import InputFile, SessionFormat, SessionRecord, telethon_string_export
    from project.actors import SystemActor

    actor = SystemActor("bench")
    team = Team.objects.filter(name="bench").first() or team_create(actor=actor, name="bench")
    strings = [
        telethon_string_export(SessionRecord(2, "127.0.0.1", port, k, SessionFormat.TELETHON_STRING)) for k in keys
    ]
    for start in range(0, len(strings), 1000):
        files = [InputFile(f"a{start + i}.txt", s.encode()) for i, s in enumerate(strings[start : start + 1000])]
        session_import(actor=actor, files=files, team=team)
    ids = list(TelegramAccount.objects.order_by("pk").values_list("pk", flat=True))

    def check_all() -> tuple[float, dict[str, int]]:
        TelegramAccount.objects.update(last_checked_at=None)
        outcomes: dict[str, int] = {}
        started = time.perf_counter()
        for start in range(0, len(ids), CHUNK):
            with leases_held(ids[start : start + CHUNK], owner="bench") as claimed:
                for done in checks_run(claimed, owner="bench"):
                    outcome = str(done.result.outcome)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return time.perf_counter() - started, outcomes

    try:
        direct, direct_outcomes = check_all()
        lines = [f"socks5://bench:bench-pass-1@127.0.0.1:{p}" for p in proxy_ports]
        proxies_import(actor=actor, lines=lines, team=team, capacity=-(-args.accounts // args.proxies))
        proxies_spread(actor=actor, accounts=list(TelegramAccount.objects.all()), team=team)
        proxied, proxied_outcomes = check_all()
    finally:
        for process in (dc, relay):
            process.send_signal(signal.SIGTERM)
            process.wait(10)
    n = len(ids)
    through = TelegramAccount.objects.filter(proxy__isnull=False).count()
    print(f"proxies benchmark, {n} accounts, {args.proxies} SOCKS5 proxies, concurrency {args.concurrency}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"baseline  direct            {direct:6.2f} s  {n / direct:7.1f} checks/s  {direct_outcomes}")
    print(f"ours      through proxies   {proxied:6.2f} s  {n / proxied:7.1f} checks/s  {proxied_outcomes} "
          f"({through} accounts behind a proxy)")  # fmt: skip
    ratio = (n / proxied) / (n / direct)
    print(f"ratio (proxied / direct throughput) {ratio:5.2f}  target >= 0.7: {'met' if ratio >= 0.7 else 'MISSED'}")


if __name__ == "__main__":
    main()
