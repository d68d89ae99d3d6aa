"""The canonical encoding and keyed hash of an audit event.

Each event's hash is an HMAC-SHA256 over the previous hash and the event's canonical encoding, under
AUDIT_CHAIN_KEY, which lives outside the database: someone who can rewrite rows cannot recompute a
chain that verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from django.conf import settings

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def occurred_text(occurred: dt.datetime) -> str:
    """An event's time as hashed: UTC, microseconds, e.g. 2026-11-29T14:00:00.000123Z."""
    return occurred.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_canonical(fields: dict[str, object]) -> bytes:
    """The JSON of the event's hashed fields: keys sorted, no spaces, UTF-8, the time as `occurred_text`.
    ``occurred_at`` is the event's datetime, or already its `occurred_text` (as verification reads it). One encoder
    made once (json.dumps would make one per event, a third of the cost at a million events)."""
    if fields.keys() != _HASHED_SET:
        raise ValueError("an event hashes exactly HASHED_FIELDS")
    occurred = fields["occurred_at"]
    doc = {**fields, "occurred_at": occurred if isinstance(occurred, str) else occurred_text(occurred)}
    return _ENCODER.encode(doc).encode("utf-8")


class ChainHasher:
    """HMAC-SHA256 under one key; the keyed state is made once and copied per event."""

    def __init__(self, key: bytes | None = None) -> None:
        self._base = hmac.new(key if key is not None else settings.AUDIT_CHAIN_KEY, digestmod=hashlib.sha256)

    def event_hash(self, prev_hash: str, fields: dict[str, object]) -> str:
        mac = self._base.copy()
        mac.update(prev_hash.encode("ascii") + b"\n" + event_canonical(fields))
        return mac.hexdigest()

    def sign(self, purpose: bytes, payload: bytes) -> str:
        """A MAC over something else than an event (a checkpoint), kept apart from event hashes by purpose."""
        mac = self._base.copy()
        mac.update(purpose + b"\0" + payload)
        return mac.hexdigest()


def event_hash(prev_hash: str, fields: dict[str, object]) -> str:
    return ChainHasher().event_hash(prev_hash, fields)


HASHED_FIELDS = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_text",
    "outcome",
    "request_id",
    "client_ip",
    "user_agent",
    "details",
)
_HASHED_SET = frozenset(HASHED_FIELDS)
