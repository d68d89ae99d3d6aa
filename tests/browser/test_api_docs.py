"""The API's documentation page in a real browser: Swagger UI from our own static files, under the site's CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_swagger_ui_renders_from_our_own_origin_under_the_csp(page, admin_user, live_server) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    login(page, admin_user)

    response = page.goto("/api/docs/")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("tgfleet API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    own = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in requested if not url.startswith("data:")} == {own}
