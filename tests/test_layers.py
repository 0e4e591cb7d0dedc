"""The layer contracts (pyproject.toml, run by `lint-imports` in `make test`) keep up with the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_storage_module_but_models_is_forbidden_to_the_adapters() -> None:
    # import-linter cannot say "storage except storage.models", so the contract lists the modules: a new
    # storage module left out of it would be open to the adapters without anyone noticing.
    contract = next(c for name, c in _contracts().items() if name.startswith("The adapters and agents reach storage"))
    modules = {f"storage.{p.stem}" for p in (ROOT / "storage").glob("*.py") if p.stem != "__init__"}
    assert set(contract["forbidden_modules"]) == modules - {"storage.models"}
    assert set(contract["source_modules"]) == {"operator_bridge", "bot.telegram_io", "bot.agent"}
