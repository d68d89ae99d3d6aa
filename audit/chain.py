"""The canonical encoding and hash of an audit event."""

from __future__ import annotations

import datetime as dt
import hashlib
import json


def event_canonical(fields: dict[str, object]) -> bytes:
    occurred = fields["occurred_at"]
    assert isinstance(occurred, dt.datetime)
    doc = {**fields, "occurred_at": occurred.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def event_hash(prev_hash: str, fields: dict[str, object]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + event_canonical(fields)).hexdigest()


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
