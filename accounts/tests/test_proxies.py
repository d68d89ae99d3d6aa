"""Each account speaks through its own proxy or not at all: real Telethon through loopback SOCKS5 and HTTP CONNECT
proxies in front of the loopback DC, which records every connection's address."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AccountStatus, Proxy, ProxyStatus, TelegramAccount
from accounts.services import account_check, session_import
from accounts.services.proxies import proxies_import, proxy_assign
from accounts.sessions import InputFile
from accounts.telegram.proxy_url import ProxyUrlError, proxy_url_parse
from alerts.models import Alert
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.canaries import MTPROXY_SECRET, PROXY_PASSWORD
from tests.mtproto_dc import Behaviour
from tests.proxies import LoopbackHttpConnect, LoopbackSocks5

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("socks5://u:p%40ss@10.0.0.1:1080", ("socks5", "10.0.0.1", 1080, "u", "p@ss")),
        ("socks5h://proxy.example.com:9050", ("socks5", "proxy.example.com", 9050, "", "")),
        ("http://u:p@[2001:db8::1]:3128", ("http", "2001:db8::1", 3128, "u", "p")),
        ("tg://socks?server=1.2.3.4&port=1080&user=a&pass=b", ("socks5", "1.2.3.4", 1080, "a", "b")),
        ("https://t.me/proxy?server=mt.example&port=443&secret=" + "ab" * 16, ("mtproxy", "mt.example", 443, "", "")),
        (
            "mtproxy://" + "ee" + "ab" * 16 + "676f6f676c652e636f6d@mt.example:443",
            ("mtproxy", "mt.example", 443, "", ""),
        ),
    ],
)
def test_proxy_urls_and_links_are_read(url, expected) -> None:
    spec = proxy_url_parse(url)

    assert (spec.kind, spec.host, spec.port, spec.username, spec.password) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://h:21", "unknown scheme 'ftp'"),
        ("socks5://h", "port is missing"),
        ("socks5://h:0", "port is missing or not from 1 to 65535"),
        ("socks5://ho st:1", "not a URL"),
        ("socks5://:1080", "host is missing"),
        ("mtproxy://h:443", "mtproxy://SECRET@host:port"),
        ("mtproxy://abcd@h:443", "must be 16 bytes"),
        ("tg://proxy?server=h&port=443", "needs secret="),
        ("tg://proxy?server=h&port=x&secret=" + "ab" * 16, "port must be a number"),
        ("tg://join?invite=x", "unknown link"),
    ],
)
def test_a_bad_proxy_url_is_refused_with_what_is_wrong(url, says) -> None:
    with pytest.raises(ProxyUrlError, match=says.replace("(", r"\(").replace(")", r"\)")):
        proxy_url_parse(url)


def test_import_proxies_names_every_bad_line_and_stores_nothing(tmp_path, capsys) -> None:
    listing = tmp_path / "proxies.txt"
    listing.write_text(f"# ours\nsocks5://u:{PROXY_PASSWORD}@10.0.0.1:1080\n\nftp://x:1\nhttp://h\n")

    with pytest.raises(CommandError, match="2 bad line"):
        call_command("import_proxies", str(listing))

    err = capsys.readouterr().err
    assert "line 4: unknown scheme 'ftp'" in err and "line 5: the port is missing" in err
    assert PROXY_PASSWORD not in err and not Proxy.objects.exists() and not AuditEvent.objects.filter(
        action="proxy.create").exists()  # fmt: skip


def test_import_proxies_seals_the_secrets_and_audits_only_a_digest(tmp_path, capsys, vault) -> None:
    listing = tmp_path / "proxies.txt"
    listing.write_text(f"socks5://u:{PROXY_PASSWORD}@10.0.0.1:1080\nmtproxy://{MTPROXY_SECRET}@mt.example:443\n"
                       f"socks5://u:{PROXY_PASSWORD}@10.0.0.1:1080\n")  # fmt: skip

    call_command("import_proxies", str(listing), "--capacity", "3")

    assert "imported 2, already there 1" in capsys.readouterr().out
    stored = list(Proxy.objects.order_by("pk").values_list("kind", "host", "capacity", "has_secret", "sealed"))
    assert [row[:4] for row in stored] == [("socks5", "10.0.0.1", 3, True), ("mtproxy", "mt.example", 3, True)]
    for *_, sealed in stored:
        assert PROXY_PASSWORD.encode() not in bytes(sealed) and MTPROXY_SECRET.encode() not in bytes(sealed)
    events = AuditEvent.objects.filter(action="proxy.create")
    assert events.count() == 2 and all(e.details["secret"].startswith("hmac-sha256:") for e in events)
    assert not any(PROXY_PASSWORD in str(e.details) or MTPROXY_SECRET in str(e.details) for e in events)


def _account(dc, behaviour=None) -> tuple[TelegramAccount, bytes]:
    key = make.random_key()
    dc.add_key(key, behaviour or Behaviour())
    files = [InputFile("acc.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
    report = session_import(actor=SYSTEM, files=files)
    return TelegramAccount.objects.get(pk=report.outcomes[0].account_id), key


def _behind(account: TelegramAccount, url: str) -> Proxy:
    [proxy] = proxies_import(actor=SYSTEM, lines=[url]).created
    proxy_assign(actor=SYSTEM, accounts=[account], proxy=proxy)
    account.refresh_from_db()
    return proxy


@pytest.mark.parametrize("proxy_class", [LoopbackSocks5, LoopbackHttpConnect])
def test_a_check_goes_through_the_account_s_proxy(vault, telegram_dc, proxy_class) -> None:
    account, key = _account(telegram_dc)
    with proxy_class(username="u", password=PROXY_PASSWORD) as loopback:
        proxy = _behind(account, loopback.url)

        done = account_check(actor=SYSTEM, account=account)

    assert (done.result.outcome, done.status) == ("ok", AccountStatus.OK)
    assert loopback.accepted == 1 and telegram_dc.peers == loopback.onward  # the DC saw only the proxy
    assert Proxy.objects.get(pk=proxy.pk).status == ProxyStatus.UP
    assert telegram_dc.stats(key).requests["GetUsersRequest"] == 1


@pytest.mark.parametrize("mode", ["dead", "wrong_password", "drop", "stall"])
def test_a_check_never_falls_back_to_a_direct_connection(vault, telegram_dc, settings, mode) -> None:
    settings.TELEGRAM_CHECK_TIMEOUT = 2
    account, _ = _account(telegram_dc)
    account_check(actor=SYSTEM, account=account)  # ok once, directly (no proxy yet)
    telegram_dc.peers.clear()
    with LoopbackSocks5(username="u", password=PROXY_PASSWORD) as loopback:
        password = "not-the-password" if mode == "wrong_password" else PROXY_PASSWORD
        proxy = _behind(account, f"socks5://u:{password}@127.0.0.1:{loopback.port}")
        loopback.mode = mode if mode in ("drop", "stall") else "serve"
        if mode == "dead":
            loopback.stop()

        done = account_check(actor=SYSTEM, account=TelegramAccount.objects.get(pk=account.pk))

    assert (done.result.outcome, done.previous_status, done.status) == ("proxy_error", "ok", "ok")
    assert telegram_dc.peers == []  # not one direct connection
    assert (loopback.refused_auth > 0) is (mode == "wrong_password")
    account.refresh_from_db()
    assert (account.consecutive_failures, account.last_outcome) == (0, "proxy_error")
    assert Proxy.objects.get(pk=proxy.pk).status == ProxyStatus.DOWN
    alert = Alert.objects.get(kind="proxy.down", key=str(proxy.pk))
    assert "1 account(s) stranded" in alert.summary and str(proxy) in alert.summary


def test_a_disabled_proxy_strands_its_accounts_without_dialling_anyone(vault, telegram_dc) -> None:
    account, _ = _account(telegram_dc)
    with LoopbackSocks5() as loopback:
        proxy = _behind(account, loopback.url)
        Proxy.objects.filter(pk=proxy.pk).update(enabled=False)

        done = account_check(actor=SYSTEM, account=TelegramAccount.objects.get(pk=account.pk))

    assert (done.result.outcome, done.status) == ("proxy_error", "unchecked")
    assert "disabled" in done.result.detail and loopback.accepted == 0 and telegram_dc.peers == []


def test_a_proxy_has_room_for_its_capacity_only(vault, telegram_dc) -> None:
    accounts = [_account(telegram_dc)[0] for _ in range(3)]
    [proxy] = proxies_import(actor=SYSTEM, lines=["socks5://127.0.0.1:1080"], capacity=2).created

    proxy_assign(actor=SYSTEM, accounts=accounts[:2], proxy=proxy)
    with pytest.raises(ValueError, match="room for 0 more"):
        proxy_assign(actor=SYSTEM, accounts=accounts[2:], proxy=proxy)

    assert proxy.accounts.count() == 2
    assert AuditEvent.objects.filter(action="account.proxy").count() == 2


def test_a_session_without_an_identity_gets_a_real_app_s_pinned_and_checks_speak_as_it(vault, telegram_dc,
                                                                                       settings) -> None:  # fmt: skip
    from accounts.telegram.identities import IDENTITIES

    settings.TELEGRAM_API_ID = 99999  # a global default that must not be used for an account with its own
    account, key = _account(telegram_dc)
    pinned = account.device["identity"]
    identity = next(i for i in IDENTITIES if i.name == pinned)

    account_check(actor=SYSTEM, account=account)
    again = session_import(actor=SYSTEM, files=[InputFile("again.txt", make.telethon_string(key=key).encode())])
    account_check(actor=SYSTEM, account=TelegramAccount.objects.get(pk=account.pk))

    assert account.api_id == identity.api_id and account.device["device"] == identity.device
    assert again.outcomes[0].result == "duplicate"
    spoken = (identity.api_id, identity.device, identity.sdk, identity.app_version, "en")
    assert telegram_dc.stats(key).identities == [spoken, spoken]  # the same app and device every time


def test_a_sidecar_s_own_app_device_and_proxy_are_kept(vault, telegram_dc) -> None:
    key = make.random_key()
    telegram_dc.add_key(key)
    sidecar = {"app_id": 4242, "app_hash": "ab" * 16, "device": "Xiaomi 13", "sdk": "SDK 33", "app_version": "9.1",
               "lang_code": "de", "proxy": ["socks5", "10.9.9.9", 1080, True, "u", PROXY_PASSWORD]}  # fmt: skip
    files = [InputFile("own.session.txt", make.telethon_string(key=key, address="127.0.0.1").encode()),
             InputFile("own.session.json", json.dumps(sidecar).encode())]  # fmt: skip

    [outcome] = session_import(actor=SYSTEM, files=files).outcomes
    account = TelegramAccount.objects.select_related("proxy").get(pk=outcome.account_id)

    assert (account.api_id, account.device["device"], account.device["lang_code"]) == (4242, "Xiaomi 13", "de")
    assert "identity" not in account.device
    assert (account.proxy.kind, account.proxy.host, account.proxy.username, account.proxy.has_secret) == (
        "socks5", "10.9.9.9", "u", True)  # fmt: skip
    assert AuditEvent.objects.get(action="session.import").details["proxy"] == account.proxy_id


def test_import_sessions_proxy_sends_every_new_account_through_it(vault, tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"a{i}.txt").write_text(make.telethon_string(key=make.random_key()))

    call_command("import_sessions", str(folder), "--proxy", f"socks5://u:{PROXY_PASSWORD}@10.8.8.8:1080",
                 "--no-progress")  # fmt: skip
    with pytest.raises(CommandError, match="--proxy: unknown scheme"):
        call_command("import_sessions", str(folder), "--proxy", "ftp://x:1")

    proxy = Proxy.objects.get()
    assert TelegramAccount.objects.filter(proxy=proxy).count() == 3
    assert PROXY_PASSWORD not in capsys.readouterr().out


def test_the_beat_probe_keeps_each_proxy_s_status_alerts_and_exports_it(vault, telegram_dc) -> None:
    from prometheus_client import generate_latest

    from accounts.services.proxies import proxies_probe
    from health.checks.builtin import TelegramCheck
    from project.metrics import metrics_registry

    alive_account, _ = _account(telegram_dc)
    dead_account, _ = _account(telegram_dc)
    with LoopbackSocks5(username="u", password=PROXY_PASSWORD) as alive, LoopbackSocks5() as dead:
        up = _behind(alive_account, alive.url)
        down = _behind(dead_account, dead.url)
        dead.stop()

        probes = {p.proxy_id: p for p in proxies_probe(timeout=2)}

    assert probes[up.pk].up and probes[up.pk].latency_ms is not None and alive.onward == telegram_dc.peers
    assert not probes[down.pk].up and probes[down.pk].error and PROXY_PASSWORD not in probes[down.pk].error
    assert Proxy.objects.get(pk=up.pk).status == ProxyStatus.UP
    assert Proxy.objects.get(pk=down.pk).status == ProxyStatus.DOWN
    assert Alert.objects.get(kind="proxy.down", key=str(down.pk)).state == "firing"
    assert not Alert.objects.filter(kind="proxy.down", key=str(up.pk)).exists()
    scrape = generate_latest(metrics_registry()).decode()
    assert (
        f'tgfleet_proxy_up{{proxy="{up.pk}"}} 1.0' in scrape and f'tgfleet_proxy_up{{proxy="{down.pk}"}} 0.0' in scrape
    )
    assert f'tgfleet_proxy_accounts{{proxy="{down.pk}"}} 1.0' in scrape
    telegram = TelegramCheck().run()
    assert "1 proxy(ies) in use down" in telegram.message and telegram.warn and telegram.details["proxies_down"] == [
        down.pk]  # fmt: skip


def test_a_proxy_whose_exit_country_changes_raises_a_warning(vault, telegram_dc, bot) -> None:
    from alerts.delivery import deliver_sweep
    from alerts.services import route_default

    route_default()
    account, key = _account(telegram_dc)
    with LoopbackSocks5() as loopback:
        proxy = _behind(account, loopback.url)
        account_check(actor=SYSTEM, account=TelegramAccount.objects.get(pk=account.pk))
        first = Proxy.objects.get(pk=proxy.pk).exit_country
        telegram_dc.country = "DE"  # the proxy's exit moved
        account_check(actor=SYSTEM, account=TelegramAccount.objects.get(pk=account.pk))
    deliver_sweep()

    assert (first, Proxy.objects.get(pk=proxy.pk).exit_country) == ("NL", "DE")
    assert telegram_dc.stats(key).requests["GetNearestDcRequest"] == 2
    alert = Alert.objects.get(kind="proxy.country_changed")
    assert alert.details == {"proxy": proxy.pk, "from": "NL", "to": "DE", "accounts": 1}
    assert any("now exits in DE, not NL" in m.text for m in bot.received)


def test_a_direct_check_asks_nothing_more_than_before(vault, telegram_dc) -> None:
    account, key = _account(telegram_dc)

    account_check(actor=SYSTEM, account=account)

    assert telegram_dc.stats(key).requests.get("GetNearestDcRequest", 0) == 0


def test_a_check_through_an_mtproxy_uses_telethon_s_mtproxy_connection(vault, telegram_dc, settings) -> None:
    from tests.canaries import MTPROXY_SECRET
    from tests.proxies import LoopbackMTProxy

    settings.TELEGRAM_CHECK_TIMEOUT = 8  # Telethon waits 2 s after an MTProxy's handshake for it to hang up
    account, key = _account(telegram_dc)
    with LoopbackMTProxy(MTPROXY_SECRET, ("127.0.0.1", telegram_dc.port)) as loopback:
        proxy = _behind(account, loopback.url)

        done = account_check(actor=SYSTEM, account=account)

    assert (proxy.kind, done.result.outcome, done.status) == ("mtproxy", "ok", "ok")
    assert loopback.accepted == 1 and telegram_dc.peers == loopback.onward
    assert telegram_dc.stats(key).requests["GetUsersRequest"] == 1


def test_an_mtproxy_with_another_secret_hangs_up_and_nothing_goes_direct(vault, telegram_dc, settings) -> None:
    from tests.proxies import LoopbackMTProxy

    settings.TELEGRAM_CHECK_TIMEOUT = 8
    account, _ = _account(telegram_dc)
    with LoopbackMTProxy("dd" + "11" * 16, ("127.0.0.1", telegram_dc.port)) as loopback:
        _behind(account, f"mtproxy://dd{'22' * 16}@127.0.0.1:{loopback.port}")

        done = account_check(actor=SYSTEM, account=account)

    assert (done.result.outcome, done.status) == ("proxy_error", "unchecked")
    assert loopback.wrong_secret >= 1 and telegram_dc.peers == []


def test_an_export_with_its_sidecar_keeps_the_app_and_device_and_imports_back_as_the_same(vault, telegram_dc,
                                                                                       superuser) -> None:  # fmt: skip
    import io
    import zipfile

    from accounts.services import session_export
    from accounts.sessions import sessions_parse

    account, _ = _account(telegram_dc)

    exported = session_export(actor=superuser, account=account, export_format="telethon_session_json",
                              reason="moving it")  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        files = [InputFile(name, archive.read(name)) for name in archive.namelist()]
    [parsed] = sessions_parse(files)

    assert exported.content_type == "application/zip" and exported.filename.endswith(".zip")
    assert parsed.profile.api_id == account.api_id and parsed.profile.api_hash
    assert {k: v for k, v in parsed.profile.device.items()} == {k: v for k, v in account.device.items()
                                                                if k != "identity"}  # fmt: skip
    assert parsed.record.auth_key_sha256 == account.auth_key_sha256


def test_one_s_own_apps_are_spread_over_sessions_without_an_app(vault, telegram_dc, settings) -> None:
    settings.TELEGRAM_APP_CREDENTIALS = [(111111, "a" * 32), (222222, "b" * 32)]

    accounts = [_account(telegram_dc)[0] for _ in range(12)]

    assert {a.api_id for a in accounts} == {111111, 222222}
    assert all(a.device["identity"] == f"own-app-{a.api_id}" and a.device["device"] for a in accounts)


def test_a_malformed_app_pool_is_refused_naming_the_item(tmp_path) -> None:
    from tests.processes import clean_env, manage

    env = clean_env(DATA_DIR=str(tmp_path), TELEGRAM_APP_CREDENTIALS=f"111:{'a' * 32},222:nothex")
    result = manage("check", env=env)

    assert result.returncode != 0 and "TELEGRAM_APP_CREDENTIALS: item 2 is not API_ID:API_HASH" in result.stderr
    assert "nothex" not in result.stderr


def test_key_rotation_reseals_proxy_secrets_so_the_old_key_can_go(vault, settings) -> None:
    from cryptography.fernet import Fernet

    from accounts.services import vault_rotate
    from accounts.services.proxies import proxy_route

    [proxy] = proxies_import(actor=SYSTEM, lines=[f"socks5://u:{PROXY_PASSWORD}@10.7.7.7:1080"]).created
    old = settings.SESSION_ENCRYPTION_KEY
    settings.SESSION_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *old]

    report = vault_rotate(actor=SYSTEM)
    settings.SESSION_ENCRYPTION_KEY = settings.SESSION_ENCRYPTION_KEY[:1]  # the old key dropped

    assert (report.proxies_rotated, report.proxies_failed) == (1, [])
    assert proxy_route(Proxy.objects.get(pk=proxy.pk)).password == PROXY_PASSWORD
