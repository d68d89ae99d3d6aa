"""Real services the suite talks to. CI sets TGFLEET_REQUIRE_SERVICES=1 so a missing one fails, never skips."""

from __future__ import annotations

import os

import pytest


def service_url(variable: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    message = f"{variable} is not set; this test needs the real service it names"
    if os.environ.get("TGFLEET_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (TGFLEET_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def shared_worker_env() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL for a worker process that shares this test's PostgreSQL database and Redis."""
    from django.db import connection

    from tests.processes import broker_purge

    service_url("DATABASE_URL")
    redis = service_url("REDIS_URL")
    if connection.vendor != "postgresql":
        pytest.skip("workers share the test database only on PostgreSQL")
    broker_purge()
    db = connection.settings_dict
    return {"DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}", "REDIS_URL": redis}


def tool_path(name: str) -> str:
    """A command-line tool the test needs (promtool from Debian's prometheus package); CI installs it."""
    import shutil

    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install prometheus)"
    if os.environ.get("TGFLEET_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (TGFLEET_REQUIRE_SERVICES=1)")
    pytest.skip(message)
