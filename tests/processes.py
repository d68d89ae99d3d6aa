"""Start the project's own processes (manage.py, celery) as a user would, with a chosen environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# REDIS_KEY_PREFIX: a process this run starts on Redis writes under the run's own prefix (tests/plugin.py).
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "REDIS_KEY_PREFIX")


def clean_env(**overrides: str) -> dict[str, str]:
    """A minimal environment: nothing from the test run's own settings leaks in."""
    env = {key: os.environ[key] for key in PASSTHROUGH if key in os.environ}
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def manage(*args: str, env: Mapping[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def broker_purge() -> None:
    """Drop tasks earlier tests of this run left in the broker; only this run's queues (REDIS_KEY_PREFIX)."""
    from project.celery import app

    app.control.purge()


@contextmanager
def celery_worker(env: Mapping[str, str], log_path: Path, pool: tuple[str, ...] = ("--pool", "solo")) -> Iterator[str]:
    """A real Celery worker in its own process; yields its node name."""
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "project",
                "worker",
                "--pool",
                "solo",
                "-Q",
                "celery,checks,deep,imports,alerts",
                "-n",
                name,
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(log_path, proc)
            yield name
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _wait_ready(log_path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    """Until the worker says it is ready (it consumes and answers pings only from then on)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if " ready." in log_path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early; see {log_path}")
        time.sleep(0.1)
    raise RuntimeError(f"celery worker not ready after {seconds:g}s; see {log_path}")
