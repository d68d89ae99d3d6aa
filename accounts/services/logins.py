"""Adding an account by signing in: phone -> code -> (two-step password) -> a new session in the vault.

Each step is one call here and one short connection to Telegram (accounts.telegram.login). Between steps the
login's row holds the phone masked and as an HMAC; the number itself, Telegram's phone_code_hash and the
half-made session are sealed with the vault's keys, so a restart between steps loses nothing and nothing
readable is left. A login belongs to whoever started it (anyone else: 404), lives 10 minutes, and is
rate-limited per user and per number. Every step is audited; the code and the password never are.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Login, LoginState, Proxy, Team, TelegramAccount
from accounts.permissions import account_permitted
from accounts.services.proxies import proxy_route
from accounts.services.teams import team_for_import
from accounts.sessions import SessionFormat, SessionRecord
from accounts.telegram.endpoint import endpoint_for_dc
from accounts.telegram.identities import identity_for_login
from accounts.telegram.login import LoginSession, StepResult, login_step
from accounts.vault.crypto import vault_keys
from accounts.vault.sealed import VaultEntry, seal, seal_bytes, unseal_bytes
from accounts.vault.storage import session_storage
from audit.models import Outcome
from audit.services import audit_denied, audit_record, audit_secret_digest
from project.redaction import secret_register

logger = logging.getLogger(__name__)

LIFETIME = dt.timedelta(minutes=10)
FIRST_DC = 2  # where Telethon starts a new sign-in; a number that lives elsewhere is moved by PHONE_MIGRATE_X
MAX_CODE_ATTEMPTS = 5
MAX_PASSWORD_ATTEMPTS = 5
MAX_RESENDS = 3
STARTS_PER_USER = (10, 3600)  # at most 10 sign-ins started per user per hour
STARTS_PER_PHONE = (3, 3600)  # and 3 per phone number per hour, whoever asks
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
CODE = re.compile(r"[0-9A-Za-z-]{3,16}")

ERROR_TEXTS = {
    "PHONE_NUMBER_INVALID": "Telegram says this is not a valid phone number.",
    "PHONE_NUMBER_BANNED": "This phone number is banned from Telegram.",
    "PHONE_NUMBER_UNOCCUPIED": "No Telegram account uses this number; sign it up in an official app first.",
    "PHONE_NUMBER_FLOOD": "Telegram refuses more codes for this number for now; try again later.",
    "PHONE_CODE_INVALID": "The code is wrong; check it and try again.",
    "PHONE_CODE_EMPTY": "The code is empty.",
    "PHONE_CODE_EXPIRED": "The code expired; ask Telegram to send a new one.",
    "PASSWORD_HASH_INVALID": "The two-step password is wrong.",
    "SRP_ID_INVALID": "The password check expired; enter the password again.",
    "SEND_CODE_UNAVAILABLE": "Telegram has no other way left to send the code; wait for it or start again.",
    "FLOOD_WAIT": "Telegram asks to wait {seconds} seconds before trying again.",
    "API_ID_INVALID": "Telegram refused the app id this sign-in uses (check TELEGRAM_APP_CREDENTIALS).",
    "NETWORK": "Telegram could not be reached; try the step again.",
    "TIMEOUT": "Telegram did not answer in time; try the step again.",
    "PROXY_ERROR": "The account's proxy could not be reached or refused the connection; nothing was sent directly.",
    "TOO_MANY_ATTEMPTS": "Too many wrong attempts; start the sign-in again.",
}
# Errors after which this sign-in cannot go on (a new one may, later).
TERMINAL = {"PHONE_NUMBER_INVALID", "PHONE_NUMBER_BANNED", "PHONE_NUMBER_UNOCCUPIED", "PHONE_NUMBER_FLOOD",
            "API_ID_INVALID", "TOO_MANY_ATTEMPTS"}  # fmt: skip


class LoginError(Exception):
    """A request this login cannot take; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class PhoneKnown(LoginError):
    """The number belongs to an account already: say which (if the user may see it) and offer to replace."""

    def __init__(self, account_id: int | None) -> None:
        where = f"account {account_id}" if account_id else "an account of another team"
        super().__init__(f"this phone number already belongs to {where}; start again with replace to give it "
                         "the new session", status=409)  # fmt: skip
        self.account_id = account_id


def phone_parse(text: str) -> str:
    """+, then the number in E.164 (spaces, dots, dashes and brackets between digits are dropped)."""
    if not isinstance(text, str):
        raise LoginError("phone must be a string such as +14155550123")
    phone = re.sub(r"[\s().-]", "", text)
    if not PHONE.fullmatch(phone):
        raise LoginError("phone must be in international form: + then 7 to 15 digits, e.g. +14155550123")
    return phone


def phone_masked(phone: str) -> str:
    return phone[:4] + "•" * (len(phone) - 6) + phone[-2:]


def login_start(*, actor, phone: str, team: Team | None = None, proxy: Proxy | None = None,
                replace: bool = False) -> Login:  # fmt: skip
    """Ask Telegram for a code for this number; returns the login (code_sent, or failed with the reason)."""
    _require_login_permission(actor, "account.login.start")
    phone = phone_parse(phone)
    team = team_for_import(actor=actor, team=team)
    if proxy is not None and not Proxy.objects.restrict(actor).filter(pk=proxy.pk).exists():
        audit_denied(actor=actor, action="account.login.start", target=proxy)
        raise PermissionDenied("you may not use this proxy")
    if proxy is not None and not proxy.enabled:
        raise LoginError(f"proxy {proxy} is disabled; enable it or choose another")
    target = _known_phone(actor, phone, replace=replace)
    digest = audit_secret_digest(phone)
    _rate_limit(actor, digest)
    identity = identity_for_login(digest)
    endpoint = endpoint_for_dc(FIRST_DC)
    session = LoginSession(phone, FIRST_DC, endpoint.host, endpoint.port, identity.api_id, identity.api_hash,
                           identity.device_fields())  # fmt: skip
    now = timezone.now()
    login = Login(created_by=actor, team=team, proxy=proxy, replace=target, phone_masked=phone_masked(phone),
                  phone_digest=digest, expires_at=now + LIFETIME, busy_until=now + _busy())  # fmt: skip
    with transaction.atomic():  # the row and its event first: a sign-in that cannot be recorded is not started
        login.sealed = seal_bytes(session.to_bytes(), vault_keys())
        login.save()
        _audit(login, "account.login.start", Outcome.ALLOWED, replace=target.pk if target else None)
    try:
        _apply(login, session, _run(session, "send_code", login), terminal_on_error=True)
    finally:
        _release(login)
    _audit(login, "account.login.code_sent" if login.state == LoginState.CODE_SENT else "account.login.start",
           Outcome.ALLOWED if login.state == LoginState.CODE_SENT else Outcome.FAILED)  # fmt: skip
    return login


def login_for(*, actor, login_id) -> Login:
    """The user's own login (Login.DoesNotExist for anyone else's, as if it weren't there)."""
    login = Login.objects.restrict(actor).select_related("team", "proxy", "account").get(pk=login_id)
    _expire(login)
    return login


def login_code(*, actor, login_id, code: str) -> Login:
    if not isinstance(code, str) or not CODE.fullmatch(code.strip()):
        raise LoginError("code must be the 3 to 16 letters or digits Telegram sent")
    code = code.strip()
    secret_register(code)
    return _step(actor, login_id, "code", code, expect=LoginState.CODE_SENT, counter="attempts",
                 limit=MAX_CODE_ATTEMPTS)  # fmt: skip


def login_password(*, actor, login_id, password: str) -> Login:
    if not isinstance(password, str) or not password or len(password) > 256:
        raise LoginError("password must be the account's two-step password (1 to 256 characters)")
    secret_register(password)
    return _step(actor, login_id, "password", password, expect=LoginState.PASSWORD_NEEDED, counter="attempts",
                 limit=MAX_PASSWORD_ATTEMPTS)  # fmt: skip


def login_resend(*, actor, login_id) -> Login:
    return _step(actor, login_id, "resend", "", expect=LoginState.CODE_SENT, counter="resends", limit=MAX_RESENDS)


def login_cancel(*, actor, login_id) -> Login:
    """End a login; one that signed in but made no account (exists) logs its new session out again."""
    login = _claim(actor, login_id, None)
    try:
        if login.state == LoginState.EXISTS:
            session = _session(login)
            _run(session, "log_out", login)
        login.state = LoginState.CANCELLED
        _drop_secrets(login)
        _audit(login, "account.login.cancel", Outcome.ALLOWED)
    finally:
        _release(login)
    return login


def login_replace(*, actor, login_id) -> Login:
    """A login that signed in as a user tgfleet already holds: give that account the new session."""
    login = _claim(actor, login_id, LoginState.EXISTS)
    try:
        target = login.account
        if target is None or not account_permitted(actor, "change_telegramaccount", target):
            audit_denied(actor=actor, action="session.replace", target=target)
            raise PermissionDenied("you may not change the account this number belongs to")
        session = _session(login)
        _replace_session(login, session, target, target.telegram_user_id)  # exists: the same user
    finally:
        _release(login)
    return login


def logins_prune(*, now: dt.datetime | None = None) -> int:
    """Expire open logins past their 10 minutes (dropping their sealed state); delete those a day old."""
    now = now or timezone.now()
    expired = Login.objects.filter(state__in=[LoginState.CODE_SENT, LoginState.PASSWORD_NEEDED, LoginState.EXISTS],
                                   expires_at__lt=now).update(state=LoginState.EXPIRED, sealed=b"")  # fmt: skip
    return expired + Login.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()[0]


# --- the steps -------------------------------------------------------------------------------------------------
def _step(actor, login_id, action: str, secret: str, *, expect: str, counter: str, limit: int) -> Login:
    login = _claim(actor, login_id, expect)
    try:
        if getattr(login, counter) >= limit:
            if counter == "resends":
                raise LoginError(f"the code was sent again {limit} times already; use the last one", status=429)
            _give_up(login)
            _audit(login, f"account.login.{action}", Outcome.DENIED)
            raise LoginError(login.error_text, status=429)
        setattr(login, counter, getattr(login, counter) + 1)
        session = _session(login)
        result = _run(session, action, login, secret)
        _apply(login, session, result, terminal_on_error=False)
        if result.kind == "error" and counter == "attempts" and login.attempts >= limit and login.open:
            _give_up(login)  # the last wrong try ends it: no more guesses at this code or password
        outcome = Outcome.FAILED if result.kind == "error" else Outcome.ALLOWED
        _audit(login, f"account.login.{action}", outcome, **({"password": "used"} if action == "password" else {}))
    finally:
        _release(login)
    return login


def _give_up(login: Login) -> None:
    login.state, login.error, login.error_text = (
        LoginState.FAILED,
        "TOO_MANY_ATTEMPTS",
        ERROR_TEXTS["TOO_MANY_ATTEMPTS"],
    )
    _drop_secrets(login)
    login.save()


def _apply(login: Login, session: LoginSession, result: StepResult, *, terminal_on_error: bool) -> None:
    login.error, login.error_text, login.flood_wait_seconds = "", "", None
    if result.kind == "code_sent":
        login.state, login.code_type, login.next_type = LoginState.CODE_SENT, result.code_type, result.next_type
        login.code_timeout = result.timeout
        _seal(login, session)
    elif result.kind == "password_needed":
        login.state, login.password_hint, login.attempts = LoginState.PASSWORD_NEEDED, result.hint, 0
        _seal(login, session)
    elif result.kind == "signed_in":
        _seal(login, session)
        _signed_in(login, session, result)
    else:
        login.error = result.error or "UNKNOWN"
        login.flood_wait_seconds = result.flood_seconds
        text = ERROR_TEXTS.get(login.error, f"Telegram answered {login.error}.")
        login.error_text = text.format(seconds=result.flood_seconds or 0)[:300]
        if terminal_on_error or login.error in TERMINAL:
            login.state = LoginState.FAILED
            _drop_secrets(login)
        else:
            _seal(login, session)
    login.save()


def _signed_in(login: Login, session: LoginSession, result: StepResult) -> None:
    user = result.user
    target = login.replace or TelegramAccount.objects.filter(telegram_user_id=user.id).first()
    if target is None:
        login.account = _account_create(login, session, user)
        login.state = LoginState.DONE
        _drop_secrets(login)
    elif login.replace is not None and target.telegram_user_id in (None, user.id):
        _replace_session(login, session, target, user.id)
    else:  # signed in as a user tgfleet already holds: say so; replacing is the caller's choice
        login.account, login.state = target, LoginState.EXISTS
        login.error_text = f"This Telegram user is already account {target.pk}; replace its session, or cancel."


def _account_create(login: Login, session: LoginSession, user) -> TelegramAccount:
    record = _record(session, user.id)
    account = TelegramAccount(
        label=(user.username and f"@{user.username}") or session.phone, phone=session.phone,
        telegram_user_id=user.id, username=user.username[:64], dc_id=record.dc_id,
        test_server=record.test_server, team=login.team, proxy=login.proxy, api_id=session.api_id,
        has_api_hash=True, device=session.device, source_format=SessionFormat.LOGIN,
        vault_name=TelegramAccount.new_vault_name(), auth_key_sha256=record.auth_key_sha256,
        next_check_at=timezone.now(),
    )  # fmt: skip
    storage = session_storage()
    try:
        with transaction.atomic():
            account.save()
            audit_record(actor=login.created_by, action="session.login", target=account,
                         details={**_phone(login), "login": str(login.pk), "dc": record.dc_id,
                                  "proxy": login.proxy_id, "identity": session.device.get("identity", "")})  # fmt: skip
            storage.save(account.vault_name, ContentFile(seal(VaultEntry(record, api_hash=session.api_hash),
                                                              vault_keys())))  # fmt: skip
    except IntegrityError:
        storage.delete(account.vault_name)
        raise LoginError("this session is already stored (the same auth key)", status=409) from None
    except BaseException:
        storage.delete(account.vault_name)
        raise
    storage.sync_directory()
    logger.info("Account %s added by signing in (login %s)", account.pk, login.pk)
    return account


def _replace_session(login: Login, session: LoginSession, target: TelegramAccount, user_id: int | None) -> None:
    """The account keeps its id, team, tags and history; its session, app and device become the new ones."""
    record = _record(session, user_id)
    storage = session_storage()
    old_name, new_name = target.vault_name, TelegramAccount.new_vault_name()
    try:
        with transaction.atomic():
            storage.save(new_name, ContentFile(seal(VaultEntry(record, api_hash=session.api_hash), vault_keys())))
            TelegramAccount.objects.filter(pk=target.pk).update(
                vault_name=new_name, auth_key_sha256=record.auth_key_sha256, dc_id=record.dc_id,
                telegram_user_id=record.user_id or target.telegram_user_id, api_id=session.api_id,
                has_api_hash=True, device=session.device, source_format=SessionFormat.LOGIN,
                status="unchecked", consecutive_failures=0, next_check_at=timezone.now(), updated_at=timezone.now(),
            )  # fmt: skip
            audit_record(actor=login.created_by, action="session.replace", target=target,
                         details={**_phone(login), "login": str(login.pk), "dc": record.dc_id})  # fmt: skip
            transaction.on_commit(lambda: storage.delete(old_name))
    except IntegrityError:
        storage.delete(new_name)
        raise LoginError("this session is already stored (the same auth key)", status=409) from None
    except BaseException:
        storage.delete(new_name)
        raise
    login.account, login.state, login.error_text = target, LoginState.DONE, ""
    _drop_secrets(login)
    login.save()


def _record(session: LoginSession, user_id: int | None) -> SessionRecord:
    return SessionRecord(session.dc_id, session.host, session.port, session.auth_key, SessionFormat.LOGIN,
                         user_id=user_id or None, test_server=settings.TELEGRAM_TEST_SERVERS,
                         api_id=session.api_id)  # fmt: skip


# --- state between steps ---------------------------------------------------------------------------------------
def _claim(actor, login_id, expect: str | None) -> Login:
    """The user's login, held for this step (a second request meanwhile is refused, not run twice)."""
    login = login_for(actor=actor, login_id=login_id)
    if not login.open:
        raise LoginError(f"this sign-in is {login.get_state_display().lower()}; start a new one",
                         status=410 if login.state == LoginState.EXPIRED else 409)  # fmt: skip
    if expect is not None and login.state != expect:
        raise LoginError(f"this sign-in is waiting for {_waiting_for(login)}, not this step", status=409)
    now = timezone.now()
    held = Login.objects.filter(pk=login.pk, state=login.state).exclude(busy_until__gt=now)
    if not held.update(busy_until=now + _busy()):
        raise LoginError("another step of this sign-in is running; wait for it", status=409)
    return login


def _release(login: Login) -> None:
    Login.objects.filter(pk=login.pk).update(busy_until=None)


def _expire(login: Login) -> None:
    if login.open and login.expires_at <= timezone.now():
        login.state = LoginState.EXPIRED
        _drop_secrets(login)
        login.save(update_fields=["state", "sealed", "updated_at"])
        _audit(login, "account.login.expire", Outcome.FAILED)


def _session(login: Login) -> LoginSession:
    session = LoginSession.from_bytes(unseal_bytes(bytes(login.sealed), vault_keys()))
    secret_register(session.phone_code_hash)
    return session


def _seal(login: Login, session: LoginSession) -> None:
    login.sealed = seal_bytes(session.to_bytes(), vault_keys())


def _drop_secrets(login: Login) -> None:
    login.sealed = b""


def _waiting_for(login: Login) -> str:
    return {LoginState.CODE_SENT: "the code", LoginState.PASSWORD_NEEDED: "the two-step password",
            LoginState.EXISTS: "replace or cancel"}.get(login.state, "nothing")  # fmt: skip


def _busy() -> dt.timedelta:
    return dt.timedelta(seconds=settings.TELEGRAM_LOGIN_TIMEOUT + 15)


def _run(session: LoginSession, action: str, login: Login, secret: str = "") -> StepResult:
    route = proxy_route(login.proxy) if login.proxy_id else None
    step = login_step(session, action, secret=secret, proxy=route, timeout=settings.TELEGRAM_LOGIN_TIMEOUT)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(step)
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from async code: Telethon gets a loop of its own
        return pool.submit(asyncio.run, step).result()


# --- rules -----------------------------------------------------------------------------------------------------
def _require_login_permission(actor, action: str) -> None:
    if not actor.has_perm("accounts.login_account"):
        audit_denied(actor=actor, action=action)
        raise PermissionDenied("you may not add accounts by signing in")


def _known_phone(actor, phone: str, *, replace: bool) -> TelegramAccount | None:
    known = TelegramAccount.objects.filter(phone=phone).order_by("pk").first()
    if known is None:
        return None
    visible = TelegramAccount.objects.restrict(actor).filter(pk=known.pk).exists()
    if not replace:
        raise PhoneKnown(known.pk if visible else None)
    if not visible or not account_permitted(actor, "change_telegramaccount", known):
        audit_denied(actor=actor, action="session.replace", target=known if visible else None)
        raise PermissionDenied("you may not replace the session of the account this number belongs to")
    return known


def _rate_limit(actor, digest: str) -> None:
    for key, (limit, window) in ((f"login-start:user:{actor.pk}", STARTS_PER_USER),
                                 (f"login-start:phone:{digest}", STARTS_PER_PHONE)):  # fmt: skip
        cache.add(key, 0, window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, window)
            count = 1
        if count > limit:
            audit_denied(actor=actor, action="account.login.start",
                         details={"reason": "rate limited", "phone_hmac": digest})  # fmt: skip
            who = "you" if ":user:" in key else "this number"
            raise LoginError(f"too many sign-ins started by {who}; at most {limit} an hour", status=429,
                             retry_after=window)  # fmt: skip


def _phone(login: Login) -> dict:
    return {"phone": login.phone_masked, "phone_hmac": login.phone_digest}


def _audit(login: Login, action: str, outcome: str, **details) -> None:
    with transaction.atomic():
        audit_record(actor=login.created_by, action=action, outcome=outcome, target=login.account,
                     target_type="" if login.account else "accounts.login", target_id="" if login.account else login.pk,
                     target_text="" if login.account else str(login),
                     details={**_phone(login), "login": str(login.pk), "state": login.state,
                              **({"error": login.error} if login.error else {}), **details})  # fmt: skip
