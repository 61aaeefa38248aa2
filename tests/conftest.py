from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOMB = ROOT / "stories" / "tomb"
SUPPORT = Path(__file__).resolve().parent / "support"

# One choice list per ending of the bundled story (also in the README).
sys.path.insert(0, str(SUPPORT))  # test plugins, loaded by name like any plugin module

ENDINGS = {
    "The Sun Rises on Time": [2, 1, 2, 1, 2, 1, 1],
    "Buried Again": [1, 2, 1, 2, 2],
    "The Eternal Treasury": [2, 1, 3, 2, 1, 2],
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config with saves in a temporary folder and no voice plugin (engine-only tests)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n\n[plugins]\ndisabled = ["voice"]\n', encoding="utf-8"
    )
    return path


STATE = Path(tempfile.mkdtemp(prefix="voiced-if-test-state-"))  # engine.log of the games tests play


def engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(STATE)
    env["PYTHONPATH"] = os.pathsep.join([str(SUPPORT), env.get("PYTHONPATH", "")])
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_engine(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, env=engine_env(**env), timeout=120,
        stdin=subprocess.DEVNULL,
    )
