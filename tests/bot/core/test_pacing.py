"""A pacer serves its waiters in turn: threads sharing a channel each wait one round, not many."""

from __future__ import annotations

import asyncio
import time

from bot.core.pacing import Pacer


async def test_a_newcomer_does_not_take_the_slot_of_a_waiter_already_woken() -> None:
    pacer = Pacer(20, 1)  # a slot every 50 ms
    served: list[str] = []

    async def send(name: str) -> None:
        await pacer.wait("C0")
        served.append(name)

    await pacer.wait("C0")  # the slot is taken
    first = asyncio.create_task(send("first"))
    await asyncio.sleep(0)  # `first` is waiting for the next slot
    time.sleep(0.06)  # a busy loop: the slot frees while nothing runs  # noqa: ASYNC251
    second = asyncio.create_task(send("second"))  # runs before the limiter's wake-up of `first`
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert served == ["first", "second"]


async def test_waiters_are_served_in_the_order_they_came() -> None:
    pacer = Pacer(50, 1)
    served: list[int] = []

    async def send(n: int) -> None:
        await pacer.wait("C0")
        served.append(n)

    tasks = []
    for n in range(6):
        tasks.append(asyncio.create_task(send(n)))
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert served == list(range(6))


async def test_the_pacer_forgets_chats_whose_budget_has_drained_and_keeps_those_that_still_owe_time() -> None:
    pacer = Pacer(0.001, 1)  # a slot every 1,000 s: a chat that sent owes time for the whole test
    for chat in range(1000):  # chats looked at but never sent to: nothing to remember
        assert await pacer.has_capacity(chat)
    assert pacer.held == 1
    for chat in ("A", "B", "C"):
        await pacer.wait(chat)
    assert not await pacer.has_capacity("A")  # still paced: its bucket was kept
    assert pacer.held == 3  # A, B and C, which owe time; the drained chat before them is gone


async def test_a_send_learns_whether_its_budget_made_it_wait() -> None:
    pacer = Pacer(50, 2)  # two at once, then one every 20 ms
    assert [await pacer.wait("C0") for _ in range(2)] == [False, False]  # within the burst
    assert await pacer.wait("C0") is True  # at the limit: this one waited for its slot
    assert await pacer.wait("C1") is False  # another channel has its own budget
    overall = Pacer(1000, 5, overall_rate=50, overall_burst=1)
    assert await overall.wait("C0") is False
    assert await overall.wait("C1") is True  # its own budget had room, the overall one did not
