"""Running one batch of Telegram conversations to the end, as `asyncio.run` does, at a cost that does not grow with
what earlier batches left for the garbage collector.

`asyncio.run` ends by cancelling what is still pending, and finds it by scanning `asyncio.all_tasks()`: every task
of the process still alive, whatever its loop. A check leaves four finished Telethon tasks in reference cycles
(a task, its coroutine's frame, the sender), freed only by a full collection, so a worker scanned tens of thousands
of dead tasks at the end of each batch. Here the batch's loop records the tasks made on it, and only those are
cancelled at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def batch_run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a new event loop; then cancel and await what it left pending, close async generators and the
    default executor, and close the loop (what `asyncio.run` does, without the process-wide task scan)."""
    loop = asyncio.new_event_loop()
    made: list[asyncio.Task] = []

    def task_factory(loop: asyncio.AbstractEventLoop, coro, **kwargs) -> asyncio.Task:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(task_factory)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            pending = [task for task in made if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            for task in pending:
                if not task.cancelled() and task.exception() is not None:
                    loop.call_exception_handler({"message": "unhandled exception during batch_run() shutdown",
                                                 "exception": task.exception(), "task": task})  # fmt: skip
            made.clear()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
