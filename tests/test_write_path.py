"""One write path: state changes only in the core's event handlers, reached through Service.handle.

Read from the source, not run: a function "writes" if it adds, deletes or merges through a session, runs an
UPDATE/DELETE/INSERT, or calls a function that writes (followed across modules through their imports). Only
the handler modules may call one; everything else (adapters, the sender, the timer sweep, the dispatcher,
the read-side queries) hands an event to Service.handle or handle_in instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The modules whose code runs only inside a handler of Service.handle (directly, or called by one).
HANDLERS = {
    "bot.core.service", "bot.core.handlers", "bot.core.edits", "bot.core.admin_ops", "bot.core.campaigns",
    "bot.core.deadlines", "bot.core.outcomes", "bot.core.settle", "bot.core.edit_results", "bot.core.effects",
    "bot.core.csat", "bot.core.choices", "bot.core.operator_actions",
    "bot.core.outbox_kinds",  # the one writer of outbox rows, called by the handlers above
}
# Writes that are not state changes, with why.
EXEMPT = {
    # The claim's in-flight marker on the row it claims, in the claiming transaction: the dispatcher's lease
    # on the row (what a crash leaves for the next attempt to see), not a state change of the conversation.
    ("bot.core.dispatch", "storage.outbox.mark_attempt"),
}
# Deferred writes are made at commit, together (storage.db.defer): `enqueue`, `finish`, `mark_attempt` and
# `set_platform_ids` are the writes (they only collect them); storage.db's `write_deferred`, which their
# readers also call first, writes what was collected, nothing new (storage.db is infrastructure, below).
COLLECTING_WRITERS = {"storage.outbox.enqueue", "storage.outbox.finish", "storage.outbox.mark_attempt",
                      "storage.messages.set_platform_ids"}
# Storage modules of coordination, not state: lane and leader locks, shared rate budgets, schema upgrades.
INFRASTRUCTURE = {"storage.coordination", "storage.pacing", "storage.dedicated", "storage.migrate", "storage.db"}
SESSION_WRITES = {"add", "add_all", "delete", "merge"}
SQL_WRITES = {"update", "delete", "insert"}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for package in ("bot", "operator_bridge", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def _aliases(module: ast.Module) -> dict[str, str]:
    """Local name → the module or function it names, for imports of this project's modules."""
    names = {}
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in (
                "bot", "operator_bridge", "storage"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name
    return names


def _called(call: ast.Call, aliases: dict[str, str], module_name: str, local: set[str]) -> str | None:
    """The dotted name of what `call` calls, when it is a module-level function this scan can name."""
    func = call.func
    if isinstance(func, ast.Name):
        if func.id in local:
            return f"{module_name}.{func.id}"
        return aliases.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in aliases:
        return f"{aliases[func.value.id]}.{func.attr}"
    return None


def _writes_directly(call: ast.Call, aliases: dict[str, str]) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in SESSION_WRITES and isinstance(func.value, ast.Name) \
            and func.value.id == "session":
        return True
    if isinstance(func, ast.Attribute) and func.attr in SQL_WRITES and not call.args and not call.keywords:
        return True  # a Core statement: table.update(), table.insert(), table.delete()
    name = func.id if isinstance(func, ast.Name) else None
    return name in SQL_WRITES and not aliases.get(name, "").startswith(("bot", "operator_bridge", "storage"))


def _write_statements(module: ast.Module, aliases: dict[str, str]) -> set[str]:
    """Module-level names bound to a prepared write statement (run later with session.exec)."""
    names = set()
    for node in module.body:
        if isinstance(node, ast.Assign) and any(isinstance(n, ast.Call) and _writes_directly(n, aliases)
                                                for n in ast.walk(node.value)):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _functions(module: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _writers(modules: dict[str, ast.Module]) -> set[str]:
    """Every module-level function that writes, directly or through another one."""
    calls: dict[str, set[str]] = {}
    writers: set[str] = set(COLLECTING_WRITERS)
    for name, module in modules.items():
        if name in INFRASTRUCTURE:
            continue
        aliases, local = _aliases(module), {f.name for f in _functions(module)}
        statements = _write_statements(module, aliases)
        for function in _functions(module):
            qualified = f"{name}.{function.name}"
            calls[qualified] = set()
            for node in ast.walk(function):
                if isinstance(node, ast.Name) and node.id in statements:
                    writers.add(qualified)
                elif isinstance(node, ast.Call):
                    if _writes_directly(node, aliases):
                        writers.add(qualified)
                    elif (target := _called(node, aliases, name, local)) is not None:
                        calls[qualified].add(target)
    while True:
        more = {f for f, targets in calls.items() if f not in writers and targets & writers}
        if not more:
            return writers
        writers |= more


def _offences(modules: dict[str, ast.Module]) -> list[str]:
    writers = _writers(modules)
    found = []
    for name, module in modules.items():
        if name in HANDLERS or name.startswith("storage") or name in INFRASTRUCTURE:
            continue
        aliases, local = _aliases(module), {f.name for f in _functions(module)}
        for node in ast.walk(module):
            if not isinstance(node, ast.Call):
                continue
            target = _called(node, aliases, name, local)
            direct = _writes_directly(node, aliases)
            if (direct or target in writers) and (name, target) not in EXEMPT:
                found.append(f"{name}:{node.lineno} {target or ast.unparse(node.func)}")
    return found


def test_only_the_core_handlers_write() -> None:
    assert _offences(_modules()) == []


def test_the_scan_sees_a_write_outside_the_handlers() -> None:
    """The rule's own check: a sweep that wrote a note itself, or a Slack listener that recorded an audit row,
    would be caught."""
    modules = _modules()
    modules["bot.core.timers"] = ast.parse(
        "from bot.core import effects as fx\n"
        "async def sweep(session, conv, now):\n    fx.note(session, conv, notes.NotDelivered('late'), now=now)\n")
    modules["operator_bridge.history"] = ast.parse(
        "from storage import audit\n"
        "async def on_export(session):\n    audit.record(session, action='export', source='button',"
        " conversation_id=1, actor_slack_user_id='U1', actor_name=None)\n")
    modules["operator_bridge.home"] = ast.parse("async def seen(session, row):\n    session.add(row)\n")
    assert [o.split(" ")[0] for o in _offences(modules)] == [
        "bot.core.timers:3", "operator_bridge.history:3", "operator_bridge.home:2"]
