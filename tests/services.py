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
