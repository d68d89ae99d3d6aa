"""Bearer tokens for scripts: created once, stored hashed, expiring, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiToken
from audit.context import client_ip
from audit.services import audit_denied, audit_record, audit_secret_digest
from project.metrics import AUTH_FAILURES

TOKEN_PREFIX = "tgf_"  # noqa: S105 - a label, not a secret
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
logger = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_create(*, actor, user, name: str = "", expires_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is never stored and cannot be shown again."""
    # A token acts as its user: one for a superuser, made by anyone else, would be a way to become one.
    may = actor == user or (actor.has_perm("accounts.add_apitoken") and (actor.is_superuser or not user.is_superuser))
    if not may:
        audit_denied(actor=actor, action="token.create", target=user)
        raise PermissionDenied("you may not create tokens for this user")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise ValueError("expiry must be between 1 and 3650 days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
    with transaction.atomic():
        row = ApiToken.objects.create(
            user=user, name=name, prefix=token[:12], key_sha256=_digest(token), expires_at=expires_at
        )
        audit_record(
            actor=actor, action="token.create", target=row,
            details={"user": user.get_username(), "expires_at": str(expires_at), "token": audit_secret_digest(token)},
        )  # fmt: skip
    return row, token


def token_revoke(*, actor, token: ApiToken) -> None:
    if not ApiToken.objects.restrict(actor, "change").filter(pk=token.pk).exists():
        audit_denied(actor=actor, action="token.revoke", target=token)
        raise PermissionDenied("you may not revoke this token")
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(actor=actor, action="token.revoke", target=token)


_unknown_seen = {"count": 0, "logged_at": 0.0}
UNKNOWN_TOKEN_LOG_SECONDS = 60


def _unknown_token_log(request) -> None:
    """At most one log line a minute, however many unknown tokens arrive."""
    _unknown_seen["count"] += 1
    now = time.monotonic()
    if now - _unknown_seen["logged_at"] >= UNKNOWN_TOKEN_LOG_SECONDS:
        logger.warning("%s request(s) with an unknown API token in the last minute, the latest from %s",
                       _unknown_seen["count"], client_ip(request))  # fmt: skip
        _unknown_seen.update(count=0, logged_at=now)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("invalid token") from None
        row = ApiToken.objects.select_related("user").filter(key_sha256=_digest(token)).first()
        now = timezone.now()
        if row is None:
            # Anyone can send these, as fast as they like: counted and logged at a bounded rate, never
            # appended to the chain (each append takes its one lock: that would let anyone stall the trail).
            AUTH_FAILURES.labels("unknown_token").inc()
            _unknown_token_log(request)
            raise exceptions.AuthenticationFailed("invalid, expired or revoked token")
        if not row.is_usable(now):
            audit_denied(
                actor=None, action="auth.token", target_type="accounts.apitoken", target_id=str(row.pk),
                details={"token": audit_secret_digest(token)},
            )  # fmt: skip
            raise exceptions.AuthenticationFailed("invalid, expired or revoked token")
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request) -> str:
        return self.keyword
