"""Loaded with -p before Django starts: each test run gets its own data directory, and stays on loopback."""

import atexit
import ipaddress
import os
import shutil
import sys
import tempfile

_data_dir = tempfile.mkdtemp(prefix="tgfleet-test-")
os.environ["DATA_DIR"] = _data_dir
# Canary secrets where settings read them, and every level logged: conftest fails a test whose log holds one.
from tests.canaries import ENVIRONMENT  # noqa: E402

for _name, _value in ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("LOG_LEVEL", "DEBUG")
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)

_outside: list[str] = []


def _loopback_only(event: str, args: tuple) -> None:
    """Refuse any connection this process makes beyond loopback (Telegram above all), and remember it."""
    if event != "socket.connect" or not isinstance(args[1], tuple) or not args[1]:
        return
    host, port = str(args[1][0]), args[1][1]
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return
    if not address.is_loopback:
        _outside.append(f"{host}:{port}")
        raise ConnectionRefusedError(f"tests stay on loopback; refused a connection to {host}:{port}")


sys.addaudithook(_loopback_only)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _outside:
        print(f"\nA test tried to leave loopback (refused): {sorted(set(_outside))}", file=sys.stderr)
        session.exitstatus = 1
