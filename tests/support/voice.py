"""Helpers for the voice plugin's tests: a config that keeps every engine local and patient, and profiles
edited in a copied story."""

from __future__ import annotations

import json
from pathlib import Path

from plugins.voice.core.settings import StallSettings

OFFLINE_EDGE = "ws://127.0.0.1:9/edge/v1?x=1"  # nothing listens there: edge fails at once, network or not
# Budgets of silence far above what a busy machine needs: which engine speaks must not depend on the machine's
# speed in tests about other things (the stall budgets themselves are tested in test_stall.py and test_bridge.py).
# The tiny XTTS makes at most 24 audio tokens a line: one chunk each, where a test is not about chunks (the
# decoder's windows cost more than the tiny GPT; test_xtts_stream.py, test_stall.py and the soak keep the defaults).
TINY_LINES = "first_chunk_tokens = 24\n"
PATIENT = StallSettings(grace=30.0, first_network=30.0, first_local=60.0, prefetch=60.0)  # for a Speaker
STALL = (f"[voice.stall]\ngrace = {PATIENT.grace}\nfirst_network = {PATIENT.first_network}\n"  # for a config
         f"first_local = {PATIENT.first_local}\nprefetch = {PATIENT.prefetch}\n")


def write_config(tmp_path: Path, voice: str = "", engine: str = "") -> Path:
    """A config.toml with a null sink, a private cache, voices/ and saves, and edge kept on loopback."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n{engine}\n'
        f'[voice]\nsink = "null"\nvoices_dir = "{tmp_path / "voices"}"\nreprobe_seconds = 0.0\n'
        f'checked_dir = "{tmp_path / "checked"}"\n{voice}\n'
        f'[voice.cache]\ndir = "{tmp_path / "cache"}"\n'
        f'[voice.edge]\nendpoint = "{OFFLINE_EDGE}"\nconnect_timeout = 2\nreceive_timeout = 5\n'
        f'{STALL}',
        encoding="utf-8",
    )
    (tmp_path / "voices").mkdir(exist_ok=True)
    return path


def set_profile(story: Path, character_id: str, **changes: object) -> None:
    path = story / "characters" / f"{character_id}.json"
    profile = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    path.write_text(json.dumps(profile, indent=2))
