import collections
from sqlalchemy import event
from tests.support.harness import World, CHANNEL
from tests.support.agents import EchoAgent

async def test_count(world: World) -> None:
    world.agent = EchoAgent()
    baton = await world.start()
    # warm: first message opens the thread
    await world.tg.customer_sends(1001, "hello 0")
    await world.tg.wait_for_messages(1001, 1)
    root = await world.root()
    await world.thread_has(root["ts"], "echo: hello 0")
    await baton.settled()
    counts = collections.Counter()
    txns = [0]
    @event.listens_for(baton.db.engine.sync_engine, "before_cursor_execute")
    def before(conn, cursor, statement, params, context, executemany):
        counts[" ".join(statement.split())[:110]] += 1
    @event.listens_for(baton.db.engine.sync_engine, "begin")
    def b(conn):
        txns[0] += 1
    calls0 = len(world.slack.call_log)
    N = 10
    for i in range(1, N + 1):
        await world.tg.customer_sends(1001, f"hello {i}")
        await world.tg.wait_for_messages(1001, i + 1)
        await world.thread_has(root["ts"], f"echo: hello {i}")
        await baton.settled()
    print("\nTXNS per msg", txns[0] / N, "statements per msg", sum(counts.values()) / N)
    for s, c in counts.most_common(40):
        print(f"{c / N:5.1f} {s}")
    print("slack calls", collections.Counter(c.get("method") for c in world.slack.call_log[calls0:]))
