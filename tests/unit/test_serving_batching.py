"""The batcher that lets a worker decide the checkouts that arrived together in one go."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from cartwise.serving.batching import Batcher


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_requests_queued_in_the_same_turn_form_one_batch_and_get_their_own_answers() -> None:
    seen: list[list[int]] = []

    def double(items: Sequence[int]) -> list[int]:
        seen.append(list(items))
        return [2 * i for i in items]

    async def main() -> list[int]:
        batcher: Batcher[int, int] = Batcher(double)

        async def one(i: int) -> int:
            return await batcher.submit(i)

        return list(await asyncio.gather(*(one(i) for i in range(10))))

    assert _run(main()) == [2 * i for i in range(10)]
    assert seen == [list(range(10))]


def test_a_lone_request_is_answered_without_waiting_for_company() -> None:
    async def main() -> tuple[int, float]:
        batcher: Batcher[int, int] = Batcher(lambda items: [i + 1 for i in items])
        loop = asyncio.get_running_loop()
        start = loop.time()
        answer = await asyncio.wait_for(batcher.submit(41), timeout=1.0)
        return answer, loop.time() - start

    answer, waited = _run(main())
    assert answer == 42
    assert waited < 0.1


def test_batches_are_capped_and_sizes_reported() -> None:
    sizes: list[int] = []
    seen: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        seen.append(len(items))
        return list(items)

    async def main() -> list[int]:
        batcher: Batcher[int, int] = Batcher(run, max_batch=4, on_batch=sizes.append)
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(10))))

    assert _run(main()) == list(range(10))
    assert seen == [4, 4, 2]
    assert sizes == [4, 4, 2]


def test_a_failing_batch_is_retried_one_by_one_so_only_the_bad_request_fails() -> None:
    calls: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if 3 in items:
            raise ValueError("cannot decide 3")
        return [i * 10 for i in items]

    async def main() -> list[object]:
        batcher: Batcher[int, int] = Batcher(run)
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True))

    results = _run(main())
    assert results[:3] == [0, 10, 20]
    assert isinstance(results[3], ValueError)
    assert results[4] == 40
    assert calls[0] == [0, 1, 2, 3, 4]
    assert calls[1:] == [[0], [1], [2], [3], [4]]


def test_a_wrong_number_of_answers_is_an_error_not_a_mix_up() -> None:
    async def main() -> list[object]:
        batcher: Batcher[int, int] = Batcher(lambda items: [])
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True))

    results = _run(main())
    assert all(isinstance(r, RuntimeError) and "got 0 answers" in str(r) for r in results)


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(lambda items: list(items), max_batch=0)
