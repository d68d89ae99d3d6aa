"""The built-in checks: database, cache, broker and workers, Telegram, session store, encryption, accounts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import stat
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from health.checks.base import Finding, HealthCheck


class DatabaseCheck(HealthCheck):
    name, critical = "database", True

    def run(self) -> Finding:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Finding(True, f"{connection.vendor} answers")


class CacheCheck(HealthCheck):
    name, critical = "cache", False  # only a cache: tgfleet works without it, slower

    def run(self) -> Finding:
        key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
        cache.set(key, value, 10)
        if cache.get(key) != value:
            return Finding(False, "the cache did not return what was stored (unreachable?)")
        cache.delete(key)
        return Finding(True, f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} round trip ok")


class BrokerCheck(HealthCheck):
    name, critical, timeout = "workers", True, 5.0

    def run(self) -> Finding:
        from project.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        replies = app.control.ping(timeout=1.5)
        if not replies:
            return Finding(False, "the broker answers but no worker replied to ping")
        return Finding(True, f"{len(replies)} worker(s) answered", {"workers": len(replies)})


class TelegramCheck(HealthCheck):
    name, critical, timeout = "telegram", False, 6.0

    def run(self) -> Finding:
        from accounts.models import EndpointProbe, Proxy, ProxyStatus, TelegramAccount
        from accounts.telegram.endpoint import endpoints_configured

        if not TelegramAccount.objects.exists():
            return Finding(True, "no accounts yet: nothing to reach")
        fresh = timezone.now() - dt.timedelta(minutes=3)
        probes = list(EndpointProbe.objects.filter(checked_at__gte=fresh))
        down = list(Proxy.objects.filter(enabled=True, status=ProxyStatus.DOWN, accounts__isnull=False).distinct()
                    .values_list("pk", flat=True)[:50])  # fmt: skip
        proxies = f"; {len(down)} proxy(ies) in use down" if down else ""
        if probes:  # the network monitor's recent measurements
            up = [p for p in probes if p.reachable]
            message = f"{len(up)} of {len(probes)} endpoints reachable (network monitor){proxies}"
            details = {p.endpoint: p.latency_ms for p in probes} | ({"proxies_down": down} if down else {})
            return Finding(bool(up), message, details, warn=len(up) < len(probes) or bool(down))
        endpoint = endpoints_configured()[0]
        with socket.create_connection((endpoint.host, endpoint.port), timeout=3):
            pass
        details = {"proxies_down": down} if down else {}
        return Finding(True, f"{endpoint.host}:{endpoint.port} accepts connections{proxies}", details, warn=bool(down))


class SessionStoreCheck(HealthCheck):
    name, critical = "session_store", True
    min_free_bytes = 100 * 1024 * 1024

    def run(self) -> Finding:
        if "location" not in settings.STORAGES["sessions"].get("OPTIONS", {}):  # SESSION_STORE=database
            from accounts.models import VaultBlob

            return Finding(True, f"in the database, {VaultBlob.objects.count()} sealed entries")
        location = Path(settings.STORAGES["sessions"]["OPTIONS"]["location"])
        location.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(location.stat().st_mode)
        if not os.access(location, os.W_OK):
            return Finding(False, "the session store is not writable")
        free = shutil.disk_usage(location).free
        details = {"mode": f"{mode:o}", "free_bytes": free}
        if mode & 0o077:
            return Finding(True, f"mode {mode:o} is looser than 0700", details, warn=True)
        if free < self.min_free_bytes:
            return Finding(False, f"only {free // 1048576} MiB free", details)
        return Finding(True, f"writable, mode {mode:o}, {free // 1048576} MiB free", details)


class EncryptionCheck(HealthCheck):
    name, critical = "encryption", False

    def run(self) -> Finding:
        from accounts.vault.crypto import vault_keys

        keys = vault_keys()
        if not keys.enabled:
            return Finding(False, "session encryption is turned off (SESSION_ENCRYPTION_ENABLED=false)")
        if keys.source == "generated":
            return Finding(True, "a generated key kept beside the data; set SESSION_ENCRYPTION_KEY", warn=True)
        return Finding(True, f"on, {keys.key_count} key(s) from {keys.source}")


class AccountsCheck(HealthCheck):
    name, critical = "accounts", False
    min_ok_share = 0.8

    def run(self) -> Finding:
        from accounts.models import AccountStatus, TelegramAccount

        total = TelegramAccount.objects.count()
        if not total:
            return Finding(True, "no accounts yet")
        ok = TelegramAccount.objects.filter(status=AccountStatus.OK).count()
        latest = TelegramAccount.objects.order_by("-last_checked_at").values_list("last_checked_at", flat=True).first()
        stale_after = dt.timedelta(seconds=2 * settings.CHECK_INTERVAL_SECONDS + 300)
        details = {"total": total, "ok": ok, "latest_check": latest.isoformat() if latest else None}
        if latest is None:
            newest_wait = timezone.now() - stale_after
            if not TelegramAccount.objects.filter(created_at__lt=newest_wait).exists():
                return Finding(True, f"{total} account(s) waiting for their first check", details)
            return Finding(False, "no recent checks: beat or the workers are stuck", details)
        if timezone.now() - latest > stale_after:
            return Finding(False, "no recent checks: beat or the workers are stuck", details)
        share = ok / total
        message = f"{ok} of {total} accounts ok ({share:.0%})"
        return Finding(share >= self.min_ok_share, message, details)


class DeliveryCheck(HealthCheck):
    """Do alerts reach their chats? Disabled routes, the oldest waiting notification, the last success."""

    name, critical = "alert_delivery", False
    stale_after = dt.timedelta(minutes=10)

    def run(self) -> Finding:
        from alerts.models import Delivery, Notification, Route

        if not settings.TELEGRAM_BOT_TOKEN:
            waiting = Notification.objects.filter(state=Delivery.PENDING).count()
            return Finding(False, f"TELEGRAM_BOT_TOKEN is not set: {waiting} notification(s) wait in the outbox "
                           "and go out once it is set", {"waiting": waiting})  # fmt: skip
        disabled = list(Route.objects.filter(enabled=False).values_list("name", flat=True))
        oldest = Notification.objects.filter(state=Delivery.PENDING).order_by("created_at").values_list(
            "created_at", flat=True).first()  # fmt: skip
        last_success = Notification.objects.filter(state=Delivery.SENT).order_by("-sent_at").values_list(
            "sent_at", flat=True).first()  # fmt: skip
        details = {"disabled_routes": disabled, "oldest_pending": oldest.isoformat() if oldest else None,
                   "last_success": last_success.isoformat() if last_success else None}  # fmt: skip
        if disabled:
            return Finding(False, f"route(s) disabled: {', '.join(sorted(disabled))}", details)
        if oldest is not None and timezone.now() - oldest > self.stale_after:
            return Finding(False, f"a notification has waited since {oldest:%Y-%m-%d %H:%M} UTC", details)
        return Finding(True, "routes enabled, nothing waiting long", details)


BUILTIN = (DatabaseCheck, CacheCheck, BrokerCheck, TelegramCheck, SessionStoreCheck, EncryptionCheck, AccountsCheck,
           DeliveryCheck)  # fmt: skip
