"""Playwright driving Debian's Chromium (headless) against a live tgfleet server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.services import tool_path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# `make test` leaves tracked files alone: docs/screenshots/ is rewritten only when asked.
REFRESH_SCREENSHOTS = os.environ.get("TGFLEET_REFRESH_SCREENSHOTS") == "1"
PASSWORD = "correct-horse-battery-9"  # the conftest users' password
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio"]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module. While it lives, Playwright's sync API keeps an event loop in this thread,
    so Django's guard against ORM calls from async code is told that the tests' calls are plain sync code."""
    executable = os.environ.get("CHROMIUM_PATH") or tool_path("chromium", "chromium")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server, settings):
    # The live server serves static files from the apps' folders (Django's StaticFilesHandler), which
    # knows no manifest-hashed names; production serves the hashed, collected files through WhiteNoise.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860},
                                   accept_downloads=True)  # fmt: skip
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Every page runs under the site's Content-Security-Policy; anything it blocks fails the test.
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(f"CSP: {m.text}"))
    page.on("response", lambda r: r.status >= 400 and "/static/" in r.url and errors.append(f"{r.url}: {r.status}"))
    page.on("requestfailed", lambda r: "ERR_ABORTED" in (r.failure or "") or errors.append(f"{r.url}: {r.failure}"))
    yield page
    context.close()
    assert not errors, f"the page raised or failed requests: {errors}"


def in_thread(fn, *args, **kwargs):
    """Run fn in its own thread: code that runs its own event loop (a check through Telethon) can't share
    this thread with Playwright's. Its database connection is its own, closed when it is done."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def login(page, user) -> None:
    """Password, then (for a user who needs it) the code of a fresh authenticator, typed like anyone would."""
    from project.console.two_factor import two_factor_required
    from tests.two_factor import authenticator_enrol, code_now

    device = authenticator_enrol(user) if two_factor_required(user) else None
    page.goto("/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    if device is not None:
        page.wait_for_selector("#id_code")
        page.fill("#id_code", code_now(device))
        page.click("input[type=submit]")
        page.wait_for_url(lambda url: "/two-factor/" not in url)
    page.wait_for_selector("#user-tools")


def logout(page) -> None:
    page.click("#logout-form button")
    page.wait_for_selector("text=Log in again")


def screenshot(page, name: str, folder: Path | None = None) -> Path:
    folder = SCREENSHOTS if REFRESH_SCREENSHOTS else folder or Path(tempfile.gettempdir()) / "tgfleet-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
