"""tgfleet as it runs in production, on the test's own PostgreSQL and Redis: real worker and beat processes,
checks against the loopback DC, alerts to the loopback Bot API. The test reads the database directly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from tests.botapi_server import TOKEN
from tests.faults.services import OwnPostgres, OwnRedis
from tests.processes import BIN, ROOT, clean_env


def wait_until(predicate: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = predicate()
        except (psycopg.OperationalError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")
        time.sleep(0.5)


class Stack:
    def __init__(self, root: Path, postgres: OwnPostgres, redis: OwnRedis, dc, bot, rsa_pem: str) -> None:
        self.root, self.postgres, self.redis = root, postgres, redis
        (root / "server.pem").write_text(rsa_pem)
        self.env = clean_env(
            DATA_DIR=str(root / "data"),
            DATABASE_URL=postgres.url,
            DATABASE_CONN_MAX_AGE="0",
            REDIS_URL=redis.url,
            SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{dc.port}",
            TELEGRAM_SERVER_RSA_KEY_FILE=str(root / "server.pem"),
            TELEGRAM_API_ID="12345",
            TELEGRAM_CHECK_TIMEOUT="5",
            CHECK_INTERVAL_SECONDS="30",
            CHECK_JITTER_SECONDS="0",
            CHECK_LEASE_SECONDS="30",
            TELEGRAM_BOT_API_URL=bot.url,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_CHAT_ID="-100500",
            ALERT_DIGEST_WINDOW_SECONDS="0",
            ALERT_SEND_TIMEOUT="5",
            LOG_LEVEL="INFO",
        )
        self.processes: dict[str, subprocess.Popen] = {}

    # --- the database, read directly ---------------------------------------------------------
    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.postgres.url, connect_timeout=3) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def scalar(self, query: str, *params):
        return self.sql(query, *params)[0][0]

    # --- commands and processes -----------------------------------------------------------------
    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)  # fmt: skip

    def shell(self, code: str) -> str:
        result = self.manage("shell", "-c", code)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def health(self) -> dict:
        result = self.manage("health", "--json", timeout=60)
        return json.loads(result.stdout)

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(BIN / "celery"), "-A", "project", *argv], cwd=ROOT, env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        process = self.start(name, "worker", "-Q", "celery,checks,deep,imports,alerts", "--concurrency", "1",
                             "-n", f"{name}@fault", "-l", "INFO")  # fmt: skip
        wait_until(lambda: " ready." in self.log(name), 60, f"{name} to be ready")
        return process

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        return self.start(name, "beat", "-l", "INFO", "--pidfile", str(self.root / f"{name}.pid"))

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def worker_child(self, name: str = "worker") -> int:
        """The pid of the prefork child that runs the worker's tasks."""
        parent = self.processes[name].pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        assert children, f"{name} has no prefork child"
        return int(children[0])

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    # --- what every fault test asserts at the end ---------------------------------------------
    def leased(self) -> int:
        return self.scalar("SELECT count(*) FROM accounts_telegramaccount WHERE lease_owner <> ''")

    def imports_unfinished(self) -> int:
        return self.scalar("SELECT count(*) FROM accounts_job WHERE state IN ('queued', 'running')")

    def checked_since(self, moment) -> int:
        return self.scalar("SELECT count(*) FROM accounts_telegramaccount WHERE last_checked_at > %s", moment)

    def accounts(self) -> int:
        return self.scalar("SELECT count(*) FROM accounts_telegramaccount")
