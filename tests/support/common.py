"""What every test folder shares: the bundled stories and their endings, the ink compiler, and the engine run
in a child process with its log kept out of the home folder."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOMB = ROOT / "stories" / "tomb"
CRYPT = ROOT / "tests" / "stories" / "crypt"  # the tomb's cast in nine lines: "1" reaches the god, "2" goes home
SUPPORT = Path(__file__).resolve().parent
NODE_TOOLS = ROOT / ".venv"  # npm's inkjs and axe-core, which `make test` installs (make test-latest uses them too)

sys.path.insert(0, str(SUPPORT))  # test plugins, loaded by name like any plugin module

# One choice list per ending of the bundled story (also in the README).
ENDINGS = {
    "The Sun Rises on Time": [2, 1, 2, 1, 2, 1, 1],
    "Buried Again": [1, 2, 1, 2, 2],
    "The Eternal Treasury": [2, 1, 3, 2, 1, 2],
}


LIGHTHOUSE = ROOT / "stories" / "lighthouse"
INK_FIXTURES = ROOT / "tests" / "engine" / "ink"
# One choice list per ending of the bundled ink story (also in the README).
LIGHTHOUSE_ENDINGS = {
    "The Light Holds": [3, 1, 2, 2],
    "A Promise in the Spring": [3, 3, 1],
    "The Empty Rocks": [3, 3, 2],
}


def ink_compiler() -> Path:
    """inkjs's compiler, which `make test` installs beside the venv's packages (.venv/inkjs)."""
    compiler = NODE_TOOLS / "inkjs" / "node_modules" / ".bin" / "inkjs-compiler"
    if not compiler.exists():
        pytest.fail(f"no ink compiler at {compiler}: run 'make test' (it installs inkjs into .venv/inkjs)")
    return compiler


def compile_ink(source: Path, target: Path) -> None:
    """Compiles an .ink file (and what it INCLUDEs) to JSON with the real ink compiler."""
    done = subprocess.run([str(ink_compiler()), str(source), "-o", str(target)], capture_output=True, text=True,
                          timeout=120, cwd=source.parent)
    assert done.returncode == 0 and target.exists(), done.stdout + done.stderr


STATE = Path(tempfile.mkdtemp(prefix="voiced-if-test-state-"))  # engine.log of the games tests play
CACHE = Path(tempfile.mkdtemp(prefix="voiced-if-test-cache-"))  # what games would keep in ~/.cache/voiced-if
atexit.register(shutil.rmtree, STATE, True)  # each test process removes its own
os.environ["XDG_STATE_HOME"] = str(STATE)  # in-process commands too: no test writes the real ~/.local/state


def engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(STATE)
    env["XDG_CACHE_HOME"] = str(CACHE)
    env["PYTHONPATH"] = os.pathsep.join([str(SUPPORT), env.get("PYTHONPATH", "")])
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_engine(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """`engine ARGS` in a child process; 300 s at most (an XTTS game beside another test worker on 2 cores)."""
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, env=engine_env(**env), timeout=300,
        stdin=subprocess.DEVNULL,
    )


def wait_until(condition: Callable[[], object], seconds: float = 30, what: str = "the condition") -> None:
    """Polls `condition` until it holds; fails the test (never hangs it) when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.01)
