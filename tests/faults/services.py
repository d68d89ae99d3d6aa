"""PostgreSQL and Redis instances of a test's own, on free ports, that the test may stop and start again.

Real servers from the machine's packages (the same binaries CI's services run): a fault test kills or stops
its own instances, never the machine's shared ones.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.services import requirement_missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, up: bool, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} within {timeout}s")


class OwnPostgres:
    """An initdb'd cluster under a temporary folder, run as the postgres user (the server refuses root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found or shutil.which("runuser") is None:
            requirement_missing("PostgreSQL's server binaries (apt-get install postgresql) and runuser are needed")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tgfleet-pg-"))
        self.data = self.root / "data"
        os.chmod(self.root, 0o755)  # noqa: S103 - the postgres user must reach its data folder
        shutil.chown(self.root, "postgres", "postgres")
        initdb = str(self.bin / "initdb")
        self._as_postgres(initdb, "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.root / "log"), "-w", "start")  # fmt: skip
        wait_for_port(self.port, up=True)

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        wait_for_port(self.port, up=False)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, TimeoutError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class OwnRedis:
    """redis-server on a free port, keeping nothing on disk."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            requirement_missing("redis-server is needed (apt-get install redis-server)")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, up=True)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        wait_for_port(self.port, up=False)

    def destroy(self) -> None:
        self.kill()
