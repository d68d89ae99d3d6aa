"""Proxies: made, changed, assigned and removed here, audited; their secrets sealed with the vault's keys.

The audit trail and logs name a proxy by id, kind, host and port; its password or MTProxy secret only as an
HMAC (`audit_secret_digest`), so a changed secret shows without showing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Proxy, ProxyStatus, Team, TelegramAccount
from accounts.permissions import sees_all_accounts
from accounts.services.teams import team_require_assignable
from accounts.telegram.outcomes import CheckOutcome, CheckResult
from accounts.telegram.proxy_url import ProxySpec, ProxyUrlError, proxy_url_parse
from accounts.telegram.route import ProxyRoute, proxy_secrets_pack, proxy_secrets_unpack
from accounts.vault.crypto import vault_keys
from accounts.vault.sealed import seal_bytes, unseal_bytes
from audit.services import audit_denied, audit_record, audit_secret_digest
from project.redaction import secret_register

logger = logging.getLogger(__name__)


class ProxyImportError(ValueError):
    """Lines that are not usable proxies; nothing was stored. `problems` holds (line number, reason)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {n}: {reason}" for n, reason in problems[:20]))


@dataclass
class ProxyImportReport:
    created: list[Proxy] = field(default_factory=list)
    existing: list[Proxy] = field(default_factory=list)


def _require(actor, perm: str, action: str, target=None) -> None:
    if not (getattr(actor, "is_superuser", False) or actor.has_perm(f"accounts.{perm}")):
        audit_denied(actor=actor, action=action, target=target)
        raise PermissionDenied(f"you may not {action.split('.')[-1]} proxies")


def _details(spec: ProxySpec) -> dict:
    details = {"kind": spec.kind, "host": spec.host, "port": spec.port, "username": spec.username}
    if spec.password or spec.secret:
        details["secret"] = audit_secret_digest(spec.password or spec.secret)
    return details


def proxy_create(*, actor, spec: ProxySpec, label: str = "", team: Team | None = None, capacity: int = 10) -> Proxy:
    _require(actor, "add_proxy", "proxy.create")
    if team is not None or not sees_all_accounts(actor):
        team_require_assignable(actor=actor, team=team, action="proxy.create")
    sealed = seal_bytes(proxy_secrets_pack(spec), vault_keys())
    secret = bool(spec.password or spec.secret)
    with transaction.atomic():
        proxy = Proxy.objects.create(label=label[:200], kind=spec.kind, host=spec.host, port=spec.port,
                                     username=spec.username, sealed=sealed, has_secret=secret, team=team,
                                     capacity=capacity)  # fmt: skip
        audit_record(actor=actor, action="proxy.create", target=proxy, details=_details(spec))
    return proxy


PROXY_EDITABLE = ("label", "team", "enabled", "capacity")


def proxy_update(*, actor, proxy: Proxy, spec: ProxySpec | None = None, **changes: object) -> Proxy:
    """Change a proxy's label, team, enabled flag or capacity, or (spec) where it is and its secret."""
    unknown = set(changes) - set(PROXY_EDITABLE)
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    if not Proxy.objects.restrict(actor, "change").filter(pk=proxy.pk).exists():
        audit_denied(actor=actor, action="proxy.change", target=proxy)
        raise PermissionDenied("you may not change this proxy")
    if "team" in changes and (changes["team"] is not None or not sees_all_accounts(actor)):
        team_require_assignable(actor=actor, team=changes["team"], action="proxy.change", target=proxy)
    if "capacity" in changes and not 1 <= int(changes["capacity"]) <= 100_000:
        raise ValueError("capacity must be from 1 to 100000")
    diff = {name: [str(getattr(proxy, name)), str(value)] for name, value in changes.items()
            if getattr(proxy, name) != value}  # fmt: skip
    if spec is not None:
        diff["endpoint"] = _details(spec)
        proxy.kind, proxy.host, proxy.port, proxy.username = spec.kind, spec.host, spec.port, spec.username
        proxy.sealed = seal_bytes(proxy_secrets_pack(spec), vault_keys())
        proxy.has_secret = bool(spec.password or spec.secret)
        proxy.status, proxy.last_error = ProxyStatus.UNKNOWN, ""
    if not diff:
        return proxy
    with transaction.atomic():
        for name, value in changes.items():
            setattr(proxy, name, value)
        proxy.save()
        audit_record(actor=actor, action="proxy.change", target=proxy, details={"changed": diff})
    return proxy


def proxy_delete(*, actor, proxy: Proxy) -> None:
    """Only a proxy no account uses: its accounts would otherwise be left without their way out."""
    if not Proxy.objects.restrict(actor, "delete").filter(pk=proxy.pk).exists():
        audit_denied(actor=actor, action="proxy.delete", target=proxy)
        raise PermissionDenied("you may not delete this proxy")
    in_use = proxy.accounts.count()
    if in_use:
        raise ValueError(f"proxy {proxy} carries {in_use} account(s); move them to another proxy first")
    with transaction.atomic():
        audit_record(actor=actor, action="proxy.delete", target=proxy)
        proxy.delete()


def proxies_import(*, actor, lines: Iterable[str], team: Team | None = None, capacity: int = 10) -> ProxyImportReport:
    """One proxy URL or link a line (blank lines and # comments skipped). Every line is checked before any is
    stored: one bad line refuses the whole file, naming each bad line. A proxy already there is left as it is."""
    specs, problems = [], []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            specs.append(proxy_url_parse(text))
        except ProxyUrlError as exc:
            problems.append((number, str(exc)))
    if problems:
        raise ProxyImportError(problems)
    report = ProxyImportReport()
    with transaction.atomic():
        for spec in specs:
            proxy, created = proxy_get_or_create(actor=actor, spec=spec, team=team, capacity=capacity)
            (report.created if created else report.existing).append(proxy)
    return report


def proxy_get_or_create(*, actor, spec: ProxySpec, team: Team | None, capacity: int = 10) -> tuple[Proxy, bool]:
    """The proxy at this endpoint (kind, host, port, user), as it is; else a new one made by `proxy_create`."""
    found = Proxy.objects.filter(kind=spec.kind, host=spec.host, port=spec.port, username=spec.username)
    proxy = found.first()
    if proxy is not None:
        return proxy, False
    try:
        with transaction.atomic():
            return proxy_create(actor=actor, spec=spec, team=team, capacity=capacity), True
    except IntegrityError:  # made meanwhile by someone else
        return found.get(), False


def proxy_route(proxy: Proxy) -> ProxyRoute:
    """How a check goes through this proxy, its secret unsealed in memory (and registered for log redaction)."""
    secrets = proxy_secrets_unpack(unseal_bytes(bytes(proxy.sealed), vault_keys())) if proxy.has_secret else {}
    for value in secrets.values():
        if value:
            secret_register(value)
    return ProxyRoute(proxy.pk, str(proxy), proxy.kind, proxy.host, proxy.port, proxy.username,
                      secrets.get("password", ""), secrets.get("secret", ""))  # fmt: skip


def proxy_assign(*, actor, accounts: list[TelegramAccount], proxy: Proxy | None) -> int:
    """Give these accounts this proxy (None: none, direct); each one's change is audited. The proxy must be one
    the actor may use (their team's, or any for admins) and have room left (its capacity)."""
    if proxy is not None:
        if not Proxy.objects.restrict(actor, "view").filter(pk=proxy.pk).exists():
            audit_denied(actor=actor, action="account.proxy", target=proxy)
            raise PermissionDenied("you may not use this proxy")
        room = proxy.capacity - proxy.accounts.exclude(pk__in=[a.pk for a in accounts]).count()
        if len(accounts) > room:
            raise ValueError(f"proxy {proxy} has room for {max(room, 0)} more account(s), not {len(accounts)}")
    from accounts.services.guard import account_require

    for account in accounts:
        account_require(actor=actor, account=account, codename="change_telegramaccount", action="account.proxy")
    with transaction.atomic():
        for account in accounts:
            before = account.proxy_id
            TelegramAccount.objects.filter(pk=account.pk).update(proxy=proxy)
            audit_record(actor=actor, action="account.proxy", target=account,
                         details={"from": before, "to": proxy.pk if proxy else None})  # fmt: skip
    return len(accounts)


def proxies_spread(*, actor, accounts: list[TelegramAccount], team: Team) -> dict[int, int]:
    """Assign accounts without a proxy over the team's enabled proxies, least loaded first, within capacity.
    Returns {proxy id: accounts given}; accounts beyond the team's room are left as they are (ValueError)."""
    proxies = list(Proxy.objects.restrict(actor, "view").filter(team=team, enabled=True)
                   .annotate(load=Count("accounts")).order_by("load", "pk"))  # fmt: skip
    waiting = [a for a in accounts if a.proxy_id is None]
    room = sum(max(p.capacity - p.load, 0) for p in proxies)
    if len(waiting) > room:
        raise ValueError(f"team {team} has room on its proxies for {room} more account(s), not {len(waiting)}")
    given: Counter = Counter()
    for account in waiting:
        target = min((p for p in proxies if p.load < p.capacity), key=lambda p: (p.load, p.pk))
        proxy_assign(actor=actor, accounts=[account], proxy=target)
        target.load += 1
        given[target.pk] += 1
    return dict(given)


def proxies_probe(*, timeout: float = 5.0) -> list:
    """Beat: test every enabled proxy that carries an account (through it to the DC's address), keep its status,
    latency and last error; an alert when one goes down (naming how many accounts it strands), resolved when it
    comes back. Returns the probes."""
    import asyncio

    from accounts.telegram.endpoint import endpoints_configured
    from accounts.telegram.proxy_probe import proxies_probe_all

    proxies = list(Proxy.objects.filter(enabled=True).annotate(carried=Count("accounts")).filter(carried__gt=0))
    if not proxies:
        return []
    target = endpoints_configured()[0]
    probes = asyncio.run(proxies_probe_all([proxy_route(p) for p in proxies], target, timeout))
    now = timezone.now()
    for proxy, probe in zip(proxies, probes, strict=True):
        Proxy.objects.filter(pk=proxy.pk).update(
            status=ProxyStatus.UP if probe.up else ProxyStatus.DOWN, latency_ms=probe.latency_ms,
            last_error=probe.error[:200], last_checked_at=now,
        )  # fmt: skip
        if not (probe.up and proxy.status == ProxyStatus.UP):  # up and up before: no alert can be open
            _proxy_alert(proxy, probe.up, proxy.carried, probe.error)
    return probes


def _proxy_alert(proxy: Proxy, up: bool, stranded: int, why: str = "") -> None:
    from alerts.models import Severity
    from alerts.services import alert_raise, alert_resolve

    if up:
        alert_resolve(kind="proxy.down", key=str(proxy.pk))
        return
    logger.warning("Proxy %s (%s) is down: %s account(s) cannot be checked", proxy.pk, proxy, stranded)
    alert_raise(kind="proxy.down", severity=Severity.CRITICAL, key=str(proxy.pk),
                summary=f"Proxy {proxy} is down: {stranded} account(s) stranded (never checked directly)",
                details={"proxy": proxy.pk, "stranded": stranded, "error": why[:200]})  # fmt: skip


def _countries_note(countries: dict[int, str]) -> None:
    """Keep each proxy's exit country; a change is an alert (Telegram logs out sessions that move country)."""
    from alerts.models import Severity
    from alerts.services import alert_notice

    if not countries:
        return
    for proxy in Proxy.objects.filter(pk__in=countries).annotate(carried=Count("accounts")):
        new = countries[proxy.pk]
        if proxy.exit_country == new:
            continue
        Proxy.objects.filter(pk=proxy.pk).update(exit_country=new)
        if not proxy.exit_country:
            continue
        old = proxy.exit_country
        logger.warning("Proxy %s (%s) now exits in %s, not %s", proxy.pk, proxy, new, old)
        alert_notice(
            kind="proxy.country_changed", key=f"{proxy.pk}:{old}:{new}:{timezone.now():%Y%m%d%H%M}",
            severity=Severity.WARNING,
            summary=f"Proxy {proxy} now exits in {new}, not {old}: Telegram may log out its {proxy.carried} account(s)",
            details={"proxy": proxy.pk, "from": old, "to": new, "accounts": proxy.carried},
        )  # fmt: skip


def proxies_note(results: list[tuple[int, CheckResult]]) -> None:
    """After a batch: a proxy that failed every check through it is down (an alert names it and how many
    accounts it strands); one that carried a check is up (its alert resolved)."""
    from alerts.services import alert_resolve

    if not results:  # a batch with no account behind a proxy
        return
    failed: Counter = Counter()
    carried: set[int] = set()
    countries: dict[int, str] = {}
    for proxy_id, result in results:
        if result.outcome is CheckOutcome.PROXY_ERROR:
            failed[proxy_id] += 1
        elif result.outcome is not CheckOutcome.ERROR:
            carried.add(proxy_id)
        if result.country:
            countries[proxy_id] = result.country
    now = timezone.now()
    _countries_note(countries)
    # A batch of a healthy fleet: one update, and an alert to resolve only for a proxy that was not up.
    back = list(Proxy.objects.filter(pk__in=carried).exclude(status=ProxyStatus.UP).values_list("pk", flat=True))
    Proxy.objects.filter(pk__in=carried).update(status=ProxyStatus.UP, last_error="", last_checked_at=now)
    for proxy_id in back:
        alert_resolve(kind="proxy.down", key=str(proxy_id))
    for proxy_id in set(failed) - carried:
        proxy = Proxy.objects.filter(pk=proxy_id).annotate(stranded=Count("accounts")).first()
        if proxy is None or not proxy.enabled:
            continue
        Proxy.objects.filter(pk=proxy_id).update(status=ProxyStatus.DOWN, last_error="checks could not get through",
                                                 last_checked_at=now)  # fmt: skip
        _proxy_alert(proxy, False, proxy.stranded, "checks could not get through")
