"""Voice packs in tests: a Piper-only, repeatable config, and a pack checked whole."""

from __future__ import annotations

from pathlib import Path

from plugins.voice.core.audio import decode
from plugins.voice.store.manifest import Manifest, file_sha_matches
from tests.support.voice import write_config

DETERMINISTIC = "[voice.piper]\nnoise_scale = 0.0\nnoise_w_scale = 0.0\n"


def config_for(tmp_path: Path, gate: bool = False) -> Path:
    """Piper only, repeatable; the quality gate off unless asked (tests/voice/quality and test_render.py cover it)."""
    config = write_config(tmp_path, voice='fallback = ["piper"]')
    config.write_text(config.read_text() + DETERMINISTIC + f"[voice.quality]\nrender = {str(gate).lower()}\n")
    return config


def assert_pack_is_whole(folder: Path) -> Manifest:
    manifest = Manifest.read(folder)
    assert manifest is not None
    for entry in manifest.entries.values():
        assert file_sha_matches(folder / entry.file, entry.file_sha), entry.file
        assert abs(decode((folder / entry.file).read_bytes()).seconds - entry.seconds) < 0.05
    return manifest
