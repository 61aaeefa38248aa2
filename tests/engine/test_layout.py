"""The engine in layers: core (the story model, errors, files, saves) imports nothing else of the engine;
story formats import only the core and each other; the rest (loader, runner, CLI) sits on both."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.common import ROOT

ENGINE = ROOT / "engine"


def engine_imports(folder: Path) -> set[str]:
    """Every engine module imported by the modules under `folder`."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found |= {name for name in names if name == "engine" or name.startswith("engine.")}
    return found


def test_the_core_imports_nothing_above_it() -> None:
    imported = engine_imports(ENGINE / "core")
    assert imported and all(name.startswith("engine.core.") for name in imported), imported


def test_story_formats_import_only_the_core_and_each_other() -> None:
    imported = engine_imports(ENGINE / "formats")
    assert "engine.core.model" in imported
    assert [name for name in imported if not name.startswith(("engine.core.", "engine.formats"))] == []
