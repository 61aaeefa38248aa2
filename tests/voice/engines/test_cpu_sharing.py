"""Engines share this machine's cores during play: their threads sleep while idle instead of spinning
(bench/contention.py measured what spinning costs the others). Real Piper and Kokoro sessions; the OpenMP
setting in a fresh interpreter, as a game starts."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from plugins.voice.core.settings import PiperSettings
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.piper.engine import PiperEngine
from tests.support.common import ROOT

SPINNING = "session.intra_op.allow_spinning"


def spins(session: Any) -> str:
    return str(session.get_session_options().get_session_config_entry(SPINNING))


def test_onnxruntime_sessions_of_piper_and_kokoro_do_not_spin(piper: PiperEngine, kokoro: KokoroEngine) -> None:
    name = next(iter(piper.models.files()))
    assert spins(piper.models.load(name).session) == "0"
    assert spins(kokoro._load().sess) == "0"
    one = PiperEngine(PiperSettings(threads=1)).models  # a render worker's: one thread, not spinning either
    session = one.load(name).session
    assert spins(session) == "0" and session.get_session_options().intra_op_num_threads == 1


def test_openmp_threads_wait_passively_unless_the_player_set_it() -> None:
    """Set when the plugins load, before any engine imports torch (an OpenMP runtime reads it once, at load)."""
    script = ("import sys, os; from engine.config import load_config; from engine.plugins import make_plugin_manager; "
              "make_plugin_manager(load_config(None)); print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)")
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    found = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert found.stdout.split() == ["PASSIVE", "False"], found.stderr
    found = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                           capture_output=True, text=True, timeout=120)
    assert found.stdout.split() == ["ACTIVE", "False"], found.stderr
