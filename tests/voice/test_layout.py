"""The plugin's folders show its parts; the core depends on nothing else of the plugin."""

from __future__ import annotations

import subprocess
import sys

from tests.support.common import ROOT

LOADED = "import sys; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('plugins'))))"


def loaded_after(*modules: str) -> set[str]:
    code = "; ".join(f"import {module}" for module in modules) + "; " + LOADED
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(result.stdout.split())


def test_importing_the_core_pulls_in_nothing_else_of_the_plugin() -> None:
    names = ("acting", "alsa", "audio", "budget", "errors", "settings", "text", "voice")
    core = ["plugins.voice.core." + name for name in names]
    assert loaded_after(*core) == {"plugins", "plugins.voice", "plugins.voice.core", *core}


def test_engines_do_not_need_the_cast_or_the_pipeline() -> None:
    loaded = loaded_after("plugins.voice.engines.registry")
    assert not {m for m in loaded if m.startswith(("plugins.voice.casting", "plugins.voice.pipeline",
                                                    "plugins.voice.output", "plugins.voice.tools"))}


# Each package imports only packages of the layers before its own: no import circle between them.
LAYERS = [["core"], ["engines"], ["casting", "output", "listening", "store"], ["quality"],
          ["pipeline", "render", "remote"], ["studio"], ["tools", "session", "served"], ["plugin"]]


def imports_between_packages() -> set[tuple[str, str]]:
    """(package, package it imports) for every import in the plugin's source, read from the code itself."""
    import ast

    found = set()
    for path in (ROOT / "plugins" / "voice").rglob("*.py"):
        parts = path.relative_to(ROOT / "plugins" / "voice").with_suffix("").parts
        if parts == ("__init__",):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("plugins.voice.") and name.split(".")[2] != parts[0]:
                    found.add((parts[0], name.split(".")[2]))
    return found


def test_packages_import_only_earlier_layers() -> None:
    layer = {package: n for n, packages in enumerate(LAYERS) for package in packages}
    edges = imports_between_packages()
    assert {package for edge in edges for package in edge} <= set(layer)  # a new package gets a layer here
    backwards = sorted((a, b) for a, b in edges if layer[b] >= layer[a])
    assert backwards == []
    assert ("pipeline", "store") in edges and ("store", "core") in edges  # the reading above sees imports
