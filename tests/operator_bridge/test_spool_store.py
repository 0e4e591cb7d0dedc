"""The spool file: inputs kept in order per lane, a re-delivery recognised, one process per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from operator_bridge.spool_store import SpoolStore


async def test_inputs_come_back_in_order_per_lane_until_done_and_survive_reopening(tmp_path: Path) -> None:
    store = SpoolStore(tmp_path / "spool.db")
    await store.open()
    first = await store.add("event:Ev1", "thread:C:1", "listener", {"n": 1})
    await store.add("event:Ev2", "thread:C:2", "listener", {"n": 2})
    await store.add("event:Ev3", "thread:C:1", "listener", {"n": 3})
    assert await store.add("event:Ev1", "thread:C:1", "listener", {"n": 1}) is None, "a re-delivery"
    await store.close()

    store = SpoolStore(tmp_path / "spool.db")
    await store.open()
    assert await store.pending_lanes() == ["thread:C:1", "thread:C:2"]
    head = await store.head("thread:C:1")
    assert head is not None and head.id == first and head.body == {"n": 1}
    await store.failed_attempt(head.id, "database is locked")
    assert (await store.head("thread:C:1")).attempts == 1  # type: ignore[union-attr]
    await store.done(head.id)
    assert (await store.head("thread:C:1")).body == {"n": 3}  # type: ignore[union-attr]
    assert await store.pending_count() == 2
    assert await store.add("event:Ev1", "thread:C:1", "listener", {"n": 1}) is None, "still recognised once done"
    await store.close()


async def test_a_second_process_cannot_use_the_same_spool(tmp_path: Path) -> None:
    first = SpoolStore(tmp_path / "spool.db")
    await first.open()
    with pytest.raises(RuntimeError, match="in use by another Baton process"):
        await SpoolStore(tmp_path / "spool.db").open()
    await first.close()
    again = SpoolStore(tmp_path / "spool.db")
    await again.open()  # free once the first has closed it
    await again.close()
