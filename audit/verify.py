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


def audit_chain_verify(*, chunk_size: int = 5000, jobs: int = 1) -> ChainReport:
    """Every event follows the one before under the chain key, and the head names the last one.

    The head row is written with the first migration and never removed: its absence is an error, not
    an empty trail (deleting everything, head included, must not verify).

    ``jobs`` > 1 (the verify_audit command; PostgreSQL, outside a transaction, a trail long enough to be worth it)
    splits the trail into that many runs of sequence numbers, each verified by its own process from the previous
    hash stored on its first event; the runs are then joined here, each first event's previous hash checked
    against the last hash of the run before, so the answer is the one a single pass gives.
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        return ChainReport(0, "the chain head is missing (the trail was deleted or never set up)")
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block and head.sequence >= PARALLEL_FROM
    if jobs > 1 and parallel:
        return _verify_parallel(head, jobs, chunk_size)
    run = _verify_run(1, None, chunk_size)
    return _joined(head, [run])


PARALLEL_FROM = 20_000  # fewer events verify faster in one pass than processes start


@dataclass(frozen=True)
class _Run:
    """One run of sequence numbers verified: how many, the first problem, and what its two ends hold."""

    checked: int
    problem: str | None
    first_seen: int | None  # the sequence of the run's first event (None: the run holds none)
    first_prev: str | None  # the previous hash stored on that event
    last_hash: str | None
    next_sequence: int  # the sequence the event after the run's last must have


def _verify_run(first: int, last: int | None, chunk_size: int) -> _Run:
    hasher = ChainHasher()
    expected_prev, expected_seq, checked = None, first, 0
    first_seen = first_prev = None

    def stop(problem: str | None) -> _Run:
        return _Run(checked, problem, first_seen, first_prev, expected_prev, expected_seq)

    for row in _rows(chunk_size, first, last):
        fields = dict(zip(HASHED_FIELDS, row[: len(HASHED_FIELDS)], strict=True))
        prev_hash, stored_hash = row[-2], row[-1]
        sequence = fields["sequence"]
        if first_seen is None:  # where the run starts and what it follows: the join checks both
            first_seen, first_prev, expected_seq, expected_prev = sequence, prev_hash, sequence, prev_hash
        if sequence != expected_seq:
            return stop(f"event #{expected_seq} is missing (next is #{sequence})")
        if prev_hash != expected_prev:
            return stop(f"event #{sequence} does not follow #{sequence - 1} (reordered or replaced)")
        if hasher.event_hash(prev_hash, fields) != stored_hash:
            return stop(f"event #{sequence} was changed after it was written (or not under this key)")
        expected_prev, expected_seq, checked = stored_hash, sequence + 1, checked + 1
    return stop(None)


def _joined(head: AuditChainHead, runs: list[_Run]) -> ChainReport:
    """The single-pass answer from consecutive runs: each must go on exactly where the one before stopped."""
    checked, prev, expected_seq = 0, GENESIS_HASH, 1
    for run in runs:
        if run.first_seen is None:
            continue  # nothing in this run's numbers; the next run, or the head, says what that means
        if run.first_seen != expected_seq:
            return ChainReport(checked, f"event #{expected_seq} is missing (next is #{run.first_seen})")
        if run.first_prev != prev:
            return ChainReport(checked, f"event #{expected_seq} does not follow #{expected_seq - 1} (reordered or "
                                        "replaced)")  # fmt: skip
        checked += run.checked
        if run.problem:
            return ChainReport(checked, run.problem)
        prev, expected_seq = run.last_hash, run.next_sequence
    if (head.sequence, head.hash) != (expected_seq - 1, prev):
        return ChainReport(checked, f"the trail ends at #{expected_seq - 1} but was written up to #{head.sequence}")
    return ChainReport(checked, head_sequence=head.sequence, head_hash=head.hash)


def _verify_parallel(head: AuditChainHead, jobs: int, chunk_size: int) -> ChainReport:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    size = -(-head.sequence // jobs)
    bounds = [(1 + i * size, (i + 1) * size) for i in range(jobs)]
    bounds[-1] = (bounds[-1][0], None)  # the last run reads to the end, whatever came after the head was read
    connections.close_all()  # each process opens its own; none inherits this one's socket
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        runs = list(pool.map(_verify_run, *zip(*bounds, strict=True), [chunk_size] * jobs))
    return _joined(head, runs)


def _rows(chunk_size: int, first: int = 1, last: int | None = None) -> Iterator[tuple]:
    """Every event's hashed fields, then prev_hash and hash, in sequence order. On PostgreSQL read straight off a
    server-side cursor, the time already as hashed (`occurred_text`) and details as JSON text, so no row becomes a
    datetime or goes through Django's converters (most of the cost at a million events); elsewhere through the ORM."""
    if connection.vendor != "postgresql":
        rows = AuditEvent.objects.filter(sequence__gte=first).order_by("sequence")
        if last is not None:
            rows = rows.filter(sequence__lte=last)
        rows = rows.values_list(*HASHED_FIELDS, "prev_hash", "hash")
        yield from rows.iterator(chunk_size=chunk_size)
        return
    columns = ", ".join(_PG_COLUMNS.get(name, connection.ops.quote_name(name)) for name in HASHED_FIELDS)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    details = HASHED_FIELDS.index("details")
    loads = json.loads
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        bound = "" if last is None else " AND sequence <= %s"
        cursor.execute(f"SELECT {columns}, prev_hash, hash FROM {table} WHERE sequence >= %s{bound} "  # noqa: S608
                       "ORDER BY sequence", [first] if last is None else [first, last])  # fmt: skip
        while batch := cursor.fetchmany(chunk_size):
            for row in batch:
                yield (*row[:details], loads(row[details]), *row[details + 1 :])


# occurred_at exactly as `occurred_text` writes it; details as JSON text for json.loads (as Django would).
_PG_COLUMNS = {
    "occurred_at": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "details": "details::text",
}
