"""Helpers for XTTS tests: real Piper speech as reference WAVs, voices pointing at them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import soundfile

from plugins.voice.core.audio import concat
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine


def speak_reference(piper: PiperEngine, path: Path, text: str, variant: int = 0) -> Path:
    voice = Voice("ref", "ref", "piper", "en", 1.0, variant)
    audio = concat(list(piper.synthesize(text, voice, LineSettings())))
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio.samples, audio.sample_rate, subtype="PCM_16")
    return path


def xtts_voice(reference: Path, language: str = "en", voice_id: str = "god_deep") -> Voice:
    digest = hashlib.sha256(reference.read_bytes()).hexdigest()
    return Voice("god", voice_id, "xtts", language, 1.0, 0, {}, (reference,), digest)
