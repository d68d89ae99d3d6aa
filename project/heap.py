"""How a long-lived worker process keeps Python's cyclic collector off its hot path (project.celery calls this in
each process that runs tasks; bench/checks.py in its baseline's processes, so both sides run alike)."""

from __future__ import annotations

import gc

# A check batch allocates and frees tens of thousands of containers (Telethon's tasks, futures, queues, its
# messages); with the default young generation (700) the collector ran about once every eight checks, and the
# check objects it found alive each time were promoted and later rescanned by full collections: 45 us of a worker's
# CPU per check. With 20,000, most of a check's objects are freed by reference counting before any collection
# sees them (8 us a check); a young collection then takes a few milliseconds, which no check waits on.
YOUNG_GENERATION = 20_000


def worker_heap_settle() -> None:
    """Freeze the start-up heap (Django, the task modules, Telethon's thousands of TL classes live as long as the
    process: full collections stop rescanning them) and widen the young generation."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
