"""The hashed form of an event never drifts: field by field it is byte for byte the JSON the chain has always
hashed (sorted keys, no spaces, UTF-8, UTC microseconds), for every kind of value a field can hold."""

import datetime as dt
import json

import pytest

from audit.chain import HASHED_FIELDS, event_canonical, occurred_text


def _reference(fields: dict) -> bytes:
    doc = {**fields, "occurred_at": fields["occurred_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


EVENTS = [
    {"actor_id": None, "actor_name": "anonymous", "client_ip": None, "details": {}},
    {"actor_id": 10**12, "actor_name": 'ünï"\\\n\u2028😀', "client_ip": "::ffff:1.2.3.4",
     "details": {"b": 1, "a": [1, 2.5, None, True], "ü": {"z": "x\x00", "y": False}, "n": 1e100}},
    {"actor_id": 7, "actor_name": "op", "client_ip": "10.0.0.1", "details": {"at": "2026-01-01", "nested": [[{}]]}},
]  # fmt: skip


@pytest.mark.parametrize("varying", EVENTS)
def test_the_canonical_form_is_the_json_the_chain_always_hashed(varying) -> None:
    occurred = dt.datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    fields = {"sequence": 42, "occurred_at": occurred, "action": "session.export", "target_type": "t\x1f",
              "target_id": "12", "target_text": "+1 555", "outcome": "allowed", "request_id": "r", "user_agent": "",
              **varying}  # fmt: skip

    assert set(fields) == set(HASHED_FIELDS)
    assert event_canonical(fields) == _reference(fields)
    assert event_canonical({**fields, "occurred_at": occurred_text(occurred)}) == _reference(fields)
    assert occurred_text(occurred) == "2026-03-03T23:36:07.000089Z"


def test_a_field_more_or_less_is_refused_rather_than_hashed_differently() -> None:
    fields = dict.fromkeys(HASHED_FIELDS, "")
    fields["occurred_at"] = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="exactly HASHED_FIELDS"):
        event_canonical({**fields, "extra": 1})
