"""`make run`: web, worker and beat in the foreground; Ctrl-C stops all three cleanly.

Why not honcho: it signals each child's whole process group, which kills Celery's
prefork children under their parent and leaves the worker hanging. Here each
process runs in its own session and only its main process gets SIGTERM, then
has STOP_GRACE_SECONDS for a warm shutdown before SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STOP_GRACE_SECONDS = 30
BIN = Path(sys.executable).parent


def commands() -> dict[str, list[str]]:
    bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('WEB_PORT', '8000')}"
    data_dir = os.environ.get("DATA_DIR", "var")
    celery = [str(BIN / "celery"), "-A", "project"]
    return {
        "web": [str(BIN / "gunicorn"), "project.wsgi:application", "--bind", bind, "--workers", "2",
                "--timeout", "90", "--graceful-timeout", "10", "--access-logfile", "-"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "-n", "worker@%h",
                   "-Q", "celery,checks,deep,imports,alerts"],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--pidfile", f"{data_dir}/celerybeat.pid"],
    }  # fmt: skip


READY_MARKER = " ready."  # Celery's "celery@host ready." once the worker takes tasks
ADMIN_WAIT_SECONDS = 20


def _relay(name: str, stream, lock: threading.Lock, ready: threading.Event | None = None) -> None:
    for line in stream:
        if ready is not None and READY_MARKER in line:
            ready.set()
        with lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<6} | {line}")
            sys.stdout.flush()


def _admin_ensure() -> list[str]:
    """`manage.py ensure_admin` (made now, the first time), and what it said."""
    result = subprocess.run([sys.executable, "manage.py", "ensure_admin"], capture_output=True, text=True)
    lines = (result.stdout + result.stderr).strip().splitlines() or ["ensure_admin printed nothing"]
    if any(line.startswith("Created admin user") for line in lines):
        lines.append("At the first sign-in, set up an authenticator app (two-factor sign-in is required for admins).")
    return lines


def _box_print(lines: list[str], lock: threading.Lock) -> None:
    """Lines in a box that stands out from the processes' logs."""
    width = max(len(line) for line in lines)
    box = [
        "+" + "-" * (width + 2) + "+",
        *(f"| {line.ljust(width)} |" for line in lines),
        "+" + "-" * (width + 2) + "+",
    ]
    with lock:
        sys.stdout.write("\n" + "\n".join(box) + "\n\n")
        sys.stdout.flush()


def _metrics_env(name: str) -> dict[str, str]:
    """Each process kind gets its own fresh directory for multiprocess metrics; the worker serves its own."""
    import shutil

    directory = Path(os.environ.get("DATA_DIR", "var")) / "prometheus" / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    if name == "worker":
        env.setdefault("CELERY_METRICS_PORT", "9808")
    return env


def main() -> int:
    lock = threading.Lock()
    worker_ready = threading.Event()
    procs: dict[str, subprocess.Popen[str]] = {}
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    admin = _admin_ensure()  # before anything serves: the login page never comes up without its admin

    def start(name: str, argv: list[str]) -> None:
        proc = subprocess.Popen(
            argv,
            env=_metrics_env(name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            bufsize=1,
        )
        procs[name] = proc
        ready = worker_ready if name == "worker" else None
        threading.Thread(target=_relay, args=(name, proc.stdout, lock, ready), daemon=True).start()
        print(f"{time.strftime('%H:%M:%S')} system | {name} started (pid {proc.pid})", flush=True)

    # Worker and beat first; once the worker's banner has scrolled by, the admin's one-time password in a box,
    # then the web server (whose few start-up lines leave the box in sight).
    argvs = commands()
    for name in ("worker", "beat"):
        start(name, argvs[name])
    deadline = time.monotonic() + ADMIN_WAIT_SECONDS
    while not worker_ready.wait(0.5) and not stopping.is_set() and time.monotonic() < deadline:
        pass
    _box_print(admin, lock)
    start("web", argvs["web"])

    # Any one exiting on its own (or Ctrl-C) stops the others.
    while not stopping.is_set() and all(p.poll() is None for p in procs.values()):
        stopping.wait(0.5)
    exited = [name for name, p in procs.items() if p.poll() is not None]
    if exited:
        print(f"{time.strftime('%H:%M:%S')} system | {', '.join(exited)} exited; stopping the rest", flush=True)

    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{time.strftime('%H:%M:%S')} system | {name} did not stop in time; killing it", flush=True)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print(f"{time.strftime('%H:%M:%S')} system | {name} stopped (exit {proc.returncode})", flush=True)
    return 0 if not exited else 1


if __name__ == "__main__":
    sys.exit(main())
