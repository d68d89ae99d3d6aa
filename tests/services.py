"""Real services the suite talks to. CI sets TGFLEET_REQUIRE_SERVICES=1 so a missing one fails, never skips."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def requirement_missing(message: str) -> NoReturn:
    """A test's real service or tool is absent: skip on a developer's machine, fail where it must be (CI)."""
    if os.environ.get("TGFLEET_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (TGFLEET_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def service_url(variable: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    requirement_missing(f"{variable} is not set; this test needs the real service it names")


def shared_worker_env() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL for a worker process that shares this test's PostgreSQL database and Redis."""
    from django.db import connection

    from tests.processes import broker_purge

    service_url("DATABASE_URL")
    redis = service_url("REDIS_URL")
    if connection.vendor != "postgresql":
        requirement_missing("workers share the test database only on PostgreSQL (DATABASE_URL names SQLite)")
    broker_purge()
    return {"DATABASE_URL": database_url(), "REDIS_URL": redis}


def database_url(user: str | None = None, password: str | None = None) -> str:
    """A URL for another process to reach this test's PostgreSQL database, its password kept (and quoted)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    user = db["USER"] if user is None else user
    password = db.get("PASSWORD") if password is None else password
    credentials = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    host = db.get("HOST") or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"postgres://{credentials}@{host}:{db.get('PORT') or 5432}/{quote(db['NAME'], safe='')}"


def tool_path(name: str, package: str) -> str:
    """A program the test needs from Debian's packages (promtool, Chromium); CI installs them."""
    import shutil

    path = shutil.which(name)
    if path:
        return path
    requirement_missing(f"{name} is not installed (apt-get install {package})")
