"""A check batch's event loop: what `asyncio.run` does at the end (leftovers cancelled, the loop closed), limited to
the batch's own tasks."""

import asyncio

import pytest

from accounts.telegram.batch_loop import batch_run


def test_the_result_comes_back_and_what_the_batch_left_pending_is_cancelled() -> None:
    left: list[asyncio.Task] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> int:
        loops.append(asyncio.get_running_loop())
        left.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
        done = asyncio.get_running_loop().create_task(asyncio.sleep(0, result=7))
        return await done

    assert batch_run(main()) == 7
    assert left[0].cancelled()
    assert loops[0].is_closed()


def test_an_error_comes_out_and_the_loop_is_closed_all_the_same() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        raise LookupError("from the batch")

    with pytest.raises(LookupError, match="from the batch"):
        batch_run(main())
    assert loops[0].is_closed()
