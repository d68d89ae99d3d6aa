"""Alert storm: 10,000 accounts go offline in one check cycle; how does the on-call chat hear of it?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/alert_storm.py [--accounts 10000]

Real pipeline: the beat job's task through Redis to two Celery check workers (and one on the alerts
queue, as in production), checks against a standalone
loopback DC that drops every connection mid-request (CHECK_OFFLINE_AFTER=1, so one cycle takes them
offline), status transitions, the alert hook, the outbox, and delivery sweeps (the workers' own kicks
plus a sweep every 10 s, as beat would) to a loopback Bot API that answers the first send with a 429.
Baseline, same run: one message per alert at Telegram's own group limit (20 a minute), the simplest
sender that is not banned; its figures follow from that limit.
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
from bench.common import processes_stop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--observe", type=float, default=90.0, help="seconds to watch delivery")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL for this benchmark")
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.botapi_server import TOKEN, LoopbackBotAPI

    work = Path(tempfile.mkdtemp(prefix="tgfleet-bench-storm-"))
    pem = work / "server.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
    keys = [os.urandom(256) for _ in range(args.accounts)]
    (work / "keys.txt").write_text("".join(k.hex() + " close\n" for k in keys))
    dc = subprocess.Popen([sys.executable, "-m", "tests.mtproto_dc", "--keys", str(work / "keys.txt")], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True)  # fmt: skip
    port = int(dc.stdout.readline().strip().rsplit(":", 1)[1])
    bot = LoopbackBotAPI().start()
    bot.then("retry_after:3")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings", DATA_DIR=str(work / "data"), SESSION_STORE_DIR=str(work / "vault"),
        SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(), TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{port}",
        TELEGRAM_SERVER_RSA_KEY_FILE=str(pem), TELEGRAM_API_ID="12345", CHECK_CONCURRENCY="50",
        CHECK_BATCH_SIZE="250", CHECK_DISPATCH_LIMIT=str(args.accounts), CHECK_OFFLINE_AFTER="1",
        TELEGRAM_BOT_API_URL=bot.url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="-100500", LOG_LEVEL="WARNING",
    )  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from accounts.models import StatusTransition, TelegramAccount
    from accounts.services import session_import
    from accounts.sessions import InputFile, SessionFormat, SessionRecord, telethon_string_export
    from accounts.tasks import checks_dispatch_task
    from alerts.models import Alert, ChatPace, Delivery, Notification, Route
    from alerts.tasks import deliver_task
    from project.actors import SystemActor
    from project.celery import app

    for model in (Notification, Alert, Route, ChatPace, TelegramAccount):
        model.objects.all().delete()
    app.control.purge()
    strings = [
        telethon_string_export(SessionRecord(2, "127.0.0.1", port, k, SessionFormat.TELETHON_STRING)) for k in keys
    ]
    for start in range(0, len(strings), 1000):
        files = [InputFile(f"acc{start + i}.txt", s.encode()) for i, s in enumerate(strings[start : start + 1000])]
        session_import(actor=SystemActor("bench"), files=files)

    celery = [str(Path(sys.executable).parent / "celery"), "-A", "project", "worker", "-l", "WARNING"]
    workers = [subprocess.Popen([*celery, "--concurrency", "1", "-Q", "celery", "-n", f"storm{i}@%h"], cwd=ROOT,
                                start_new_session=True) for i in range(2)]  # fmt: skip
    workers.append(subprocess.Popen([*celery, "--concurrency", "1", "-Q", "alerts", "-n", "alerts@%h"], cwd=ROOT,
                                    start_new_session=True))  # fmt: skip
    try:
        time.sleep(6)
        started = time.time()
        checks_dispatch_task.delay()
        next_sweep = started + 10
        while time.time() - started < args.observe:
            if time.time() >= next_sweep:
                deliver_task.delay()
                next_sweep += 10
            time.sleep(0.2)
        # Let the outbox drain, then count.
        drain_until = time.time() + 180
        while Notification.objects.filter(state__in=[Delivery.PENDING, Delivery.CLAIMED, Delivery.IN_FLIGHT]).exists():
            if time.time() > drain_until:
                break
            deliver_task.delay()
            time.sleep(5)
    finally:
        processes_stop(workers)
        dc.send_signal(signal.SIGTERM)
        bot.stop()

    offline = TelegramAccount.objects.filter(status="offline").count()
    first_transition = StatusTransition.objects.filter(to_status="offline").order_by("at").first().at.timestamp()
    sends = sorted(m.at for m in bot.received)
    attempts = sorted(m.at for m in bot.arrived)
    first_minute = sum(1 for t in sends if t - attempts[0] < 60)
    rows = Notification.objects.filter(alert__kind="account.offline")
    named = rows.filter(state=Delivery.SENT, summarised=False).count()
    counted = rows.filter(state=Delivery.SENT, summarised=True).count()
    suppressed = rows.filter(state__in=[Delivery.SUPPRESSED, Delivery.SILENCED]).count()
    unaccounted = rows.exclude(state__in=[Delivery.SENT, Delivery.SUPPRESSED, Delivery.SILENCED]).count()
    alerts = Alert.objects.filter(kind="account.offline").count()
    named_in_texts = sum(text.count("account.offline</b>") for text in (m.text for m in bot.received))
    to_first = sends[0] - first_transition
    first_row = Notification.objects.order_by("created_at").first().created_at.timestamp()
    n = args.accounts
    print(f"alert storm, {n} accounts, 2 workers, {os.cpu_count()} cores")
    print(f"accounts offline after one check cycle: {offline}; alerts: {alerts}")
    print(
        f"messages to the chat: {len(sends)} in all, {first_minute} in the first minute "
        f"(target <= 10: {'met' if first_minute <= 10 else 'MISSED'}); 429s answered: "
        f"{len(attempts) - len(sends)}, all retried after retry_after"
    )
    print(
        f"first transition -> first message: {to_first:.1f} s (target <= 15 s: {'met' if to_first <= 15 else 'MISSED'}); "
        f"first outbox row +{first_row - first_transition:.1f} s, first attempt +{attempts[0] - first_transition:.1f} s"
    )
    print(
        f"accounted for: named {named} (in texts: {named_in_texts}), counted in summaries {counted}, "
        f"suppressed {suppressed}, unaccounted {unaccounted} -> {named + counted + suppressed} of {alerts} "
        f"({'all' if unaccounted == 0 and named + counted + suppressed == alerts == n else 'NOT ALL'})"
    )
    baseline_minutes = n / 20
    print(f"baseline (one message per alert at 20/min): 20 alerts told in the first minute, {baseline_minutes:.0f} min "
          f"for all; ours: {named + counted} told in {len(sends)} messages -> ratio of alerts per message "
          f"{(named + counted) / max(1, len(sends)):.0f} : 1")  # fmt: skip


if __name__ == "__main__":
    main()
