"""The plugin's folders show its parts; the core depends on nothing else of the plugin."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

LOADED = "import sys; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('plugins'))))"


def loaded_after(*modules: str) -> set[str]:
    code = "; ".join(f"import {module}" for module in modules) + "; " + LOADED
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(result.stdout.split())


def test_importing_the_core_pulls_in_nothing_else_of_the_plugin() -> None:
    core = ["plugins.voice.core." + name for name in ("alsa", "audio", "budget", "errors", "settings", "text", "voice")]
    assert loaded_after(*core) == {"plugins", "plugins.voice", "plugins.voice.core", *core}


def test_engines_do_not_need_the_cast_or_the_pipeline() -> None:
    loaded = loaded_after("plugins.voice.engines.registry")
    assert not {m for m in loaded if m.startswith(("plugins.voice.casting", "plugins.voice.pipeline",
                                                    "plugins.voice.output", "plugins.voice.tools"))}
