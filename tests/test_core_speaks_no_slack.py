"""The core emits typed notes and plain replies; wording them in Slack mrkdwn is the Slack adapter's job.

A scan of bot/core's string literals (docstrings aside) for the marks of Slack mrkdwn: an `:emoji:`, a
`<@mention>`, `<!channel>` or `<http…|link>`, and `*bold*`. A literal the core still words for Slack is listed
in ALLOWED with the reason; a new one fails here, to be emitted typed and rendered in operator_bridge.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "bot" / "core"

MARKS = re.compile(r"(?:^|\s):[a-z][a-z0-9_+-]*:(?=\s|$)"  # :emoji:
                   r"|<[@!#]|<https?:"  # mentions, broadcasts, links
                   r"|(?:^|\s)\*[^*\s][^*\n]*\*(?=[\s.,:;!?]|$)")  # *bold*

# (module, a fragment of the literal): why the core still words it for Slack.
ALLOWED: set[tuple[str, str]] = set()


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    """Each string literal's text; an f-string's holes are `X`, so `*{name}*` reads `*X*`."""
    skip, inner = _docstrings(tree), set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inner.add(id(value))
                parts.append(value.value if isinstance(value, ast.Constant) else "X")
            found.append((node.lineno, "".join(str(p) for p in parts)))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
              and id(node) not in inner):
            found.append((node.lineno, node.value))
    return found


def _offences(name: str, source: str) -> list[str]:
    return [f"{name}:{line} {text!r}" for line, text in _literals(ast.parse(source))
            if MARKS.search(text) and not any(m == name and part in text for m, part in ALLOWED)]


def test_the_core_writes_no_slack_mrkdwn() -> None:
    found = [o for path in sorted(CORE.rglob("*.py")) for o in _offences(path.stem, path.read_text())]
    assert found == []


def test_the_scan_sees_each_mark() -> None:
    source = ('"""A docstring may say :warning: or *bold*."""\n'
              'a = f":hourglass: <@{user}>, late"\n'
              'b = "*Needs a human*: " + why\n'
              'c = f"*{name}* took over"\n'
              'd = "<!channel> look"\n'
              'e = "lane conversation:1, csat:1:5, 2 * 3 * 4, a*b*c"\n')
    assert sorted(o.split(" ")[0] for o in _offences("m", source)) == ["m:2", "m:3", "m:4", "m:5"]
