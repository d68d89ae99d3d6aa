"""Loaded with -p before Django starts: each test run gets its own data directory, and stays on loopback."""

import atexit
import ipaddress
import os
import shutil
import sys
import tempfile
import uuid

_data_dir = tempfile.mkdtemp(prefix="tgfleet-test-")
os.environ["DATA_DIR"] = _data_dir
# Everything this run (and the workers it starts) writes to a shared Redis carries this prefix: purges
# touch only our queues, and the run deletes exactly its own keys when it ends.
_redis_prefix = f"tgfleet-test-{uuid.uuid4().hex[:12]}:"
os.environ["REDIS_KEY_PREFIX"] = _redis_prefix
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


def redis_keys_remove(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN, never FLUSHDB: the database may hold others' keys)."""
    import logging

    import redis

    logging.getLogger("redis").setLevel(logging.WARNING)  # the run's DEBUG logging is over; keep the tail quiet
    client = redis.Redis.from_url(url)
    removed = 0
    try:
        batch = []
        for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += client.unlink(*batch)
                batch = []
        if batch:
            removed += client.unlink(*batch)
    finally:
        client.close()
    return removed


def pytest_sessionfinish(session, exitstatus) -> None:
    if os.environ.get("REDIS_URL") and not hasattr(session.config, "workerinput"):
        try:
            redis_keys_remove(os.environ["REDIS_URL"], _redis_prefix)
        except Exception as exc:  # Redis gone: say so; the run's result stands
            print(f"\nCould not remove this run's Redis keys ({_redis_prefix}*): {exc}", file=sys.stderr)
    if _outside:
        print(f"\nA test tried to leave loopback (refused): {sorted(set(_outside))}", file=sys.stderr)
        session.exitstatus = 1
