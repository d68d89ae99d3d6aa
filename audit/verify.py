"""Walk the chain and say where it first breaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from audit.chain import HASHED_FIELDS, ChainHasher
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problem: str | None = None
    head_sequence: int = 0
    head_hash: str = GENESIS_HASH


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Every event follows the one before under the chain key, and the head names the last one.

    The head row is written with the first migration and never removed: its absence is an error, not
    an empty trail (deleting everything, head included, must not verify).
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        return ChainReport(0, "the chain head is missing (the trail was deleted or never set up)")
    hasher = ChainHasher()
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for row in _rows(chunk_size):
        fields = dict(zip(HASHED_FIELDS, row[: len(HASHED_FIELDS)], strict=True))
        prev_hash, stored_hash = row[-2], row[-1]
        sequence = fields["sequence"]
        if sequence != expected_seq:
            return ChainReport(checked, f"event #{expected_seq} is missing (next is #{sequence})")
        if prev_hash != expected_prev:
            return ChainReport(checked, f"event #{sequence} does not follow #{sequence - 1} (reordered or replaced)")
        if hasher.event_hash(prev_hash, fields) != stored_hash:
            return ChainReport(checked, f"event #{sequence} was changed after it was written (or not under this key)")
        expected_prev, expected_seq, checked = stored_hash, sequence + 1, checked + 1
    if (head.sequence, head.hash) != (expected_seq - 1, expected_prev):
        return ChainReport(checked, f"the trail ends at #{expected_seq - 1} but was written up to #{head.sequence}")
    return ChainReport(checked, head_sequence=head.sequence, head_hash=head.hash)


def _rows(chunk_size: int) -> Iterator[tuple]:
    """Every event's hashed fields, then prev_hash and hash, in sequence order. On PostgreSQL read straight off a
    server-side cursor, the time already as hashed (`occurred_text`) and details as JSON text, so no row becomes a
    datetime or goes through Django's converters (most of the cost at a million events); elsewhere through the ORM."""
    if connection.vendor != "postgresql":
        rows = AuditEvent.objects.order_by("sequence").values_list(*HASHED_FIELDS, "prev_hash", "hash")
        yield from rows.iterator(chunk_size=chunk_size)
        return
    columns = ", ".join(_PG_COLUMNS.get(name, connection.ops.quote_name(name)) for name in HASHED_FIELDS)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    details = HASHED_FIELDS.index("details")
    loads = json.loads
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {columns}, prev_hash, hash FROM {table} ORDER BY sequence")  # noqa: S608
        while batch := cursor.fetchmany(chunk_size):
            for row in batch:
                yield (*row[:details], loads(row[details]), *row[details + 1 :])


# occurred_at exactly as `occurred_text` writes it; details as JSON text for json.loads (as Django would).
_PG_COLUMNS = {
    "occurred_at": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "actor_id": "actor_id",
    "details": "details::text",
}
