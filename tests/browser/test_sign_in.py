"""Signing an account in from the console, in a real browser, against the loopback DC."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import TelegramAccount
from accounts.services import account_check
from conftest import SYSTEM
from tests.browser.conftest import in_thread, login, screenshot
from tests.canaries import TWO_STEP_PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]
PHONE = "+15550104343"


def test_an_operator_signs_an_account_in_with_code_and_two_step_password(page, vault, telegram_dc, blue_team,
                                                                        operator) -> None:  # fmt: skip
    telegram_dc.phones.add(PHONE, 4343, password=TWO_STEP_PASSWORD, hint="the usual one", home_dc=4)
    login(page, operator)
    page.goto("/admin/accounts/telegramaccount/")
    page.click("#sign-in-account")
    page.fill("#id_phone", "+1 555 010 4343")
    page.select_option("#id_team", str(blue_team.pk))
    page.click("#login-send")

    expect(page.locator("#login-state")).to_have_text("Code sent")
    expect(page.locator("#login")).to_contain_text("in the Telegram app on another device")
    page.fill("#id_code", "00000")
    page.click("#login-code-submit")
    expect(page.locator("#login-error")).to_contain_text("The code is wrong")
    page.fill("#id_code", "12345")
    page.click("#login-code-submit")
    expect(page.locator("#login-hint")).to_have_text("the usual one")
    page.fill("#id_password", "not the password")
    page.click("#login-password-submit")
    expect(page.locator("#login-error")).to_contain_text("two-step password is wrong")
    screenshot(page, "sign-in-password")
    page.fill("#id_password", TWO_STEP_PASSWORD)
    page.click("#login-password-submit")

    expect(page.locator(".messagelist")).to_contain_text("Signed in")
    account = TelegramAccount.objects.get(telegram_user_id=4343)
    assert page.url.endswith(f"/accounts/telegramaccount/{account.pk}/change/")
    assert (account.team, account.dc_id, account.phone) == (blue_team, 4, PHONE)
    assert TWO_STEP_PASSWORD not in page.content()
    assert in_thread(account_check, actor=SYSTEM, account=account).status == "ok"  # the new session works
    page.reload()
    expect(page.locator("#account-status")).to_have_text("OK")


def test_a_viewer_is_offered_no_sign_in_and_is_refused_its_page(page, vault, viewer) -> None:
    login(page, viewer)
    page.goto("/admin/accounts/telegramaccount/")
    expect(page.locator("#changelist")).to_be_visible()
    assert page.locator("#sign-in-account").count() == 0
    assert page.goto("/admin/accounts/telegramaccount/login/").status == 403
