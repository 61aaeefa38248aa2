"""VoiceSeeder: Piper speaks a deterministic reference WAV per character; XTTS clones it.

For each character: ensure a voice_id, ensure voices/<voice_id>.wav (16-bit PCM mono 22050 Hz,
about voice_seed_seconds_target long), set voice_map[character_id] = voice_id. Existing WAVs
are kept and an unchanged map is not rewritten, unless force regenerates every WAV.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from engine import Story, write_atomic
from plugins.voice.casting.cast import VOICE_MAP, read_voice_map
from plugins.voice.casting.seed_texts import profile_seed_text
from plugins.voice.core.acting import Style
from plugins.voice.core.audio import AudioChunk, concat, encode, resample
from plugins.voice.core.errors import SpeechFailure, VoiceError
from plugins.voice.core.settings import PiperSettings
from plugins.voice.engines.acting import SEMITONE
from plugins.voice.engines.cloning import CLONING_ENGINES
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.piper.styles import read_styles, write_styles

SEED_FAILED = "VOICE_SEED_FAILED"
RATE = 22050
STYLES_FILE = "piper_voices.toml"
STALE_SECONDS = 60.0


@dataclass(frozen=True)
class SeedResult:
    character_id: str
    voice_id: str
    status: str  # "created", "regenerated", "kept" or VOICE_SEED_FAILED
    seconds: float = 0.0
    detail: str = ""


def deterministic(settings: PiperSettings) -> PiperSettings:
    """Piper is only repeatable with both noise scales at 0."""
    return PiperSettings(settings.voices_dir, settings.default_voice, noise_scale=0.0, noise_w_scale=0.0)


class VoiceSeeder:
    def __init__(self, story: Story, voices_dir: Path, piper_settings: PiperSettings) -> None:
        self.story = story
        self.voices_dir = voices_dir
        self.styles_path = voices_dir / STYLES_FILE
        self.piper = PiperEngine(deterministic(piper_settings), read_styles(self.styles_path))

    def needs_seed(self, engines: tuple[str, ...] = CLONING_ENGINES) -> list[str]:
        """Characters speaking through a cloning engine whose reference WAV is missing."""
        voice_map = read_voice_map(self.voices_dir)
        needed = []
        for character_id, character in sorted(self.story.characters.items()):
            voice_id = character.profile.get("voice_id") or voice_map.get(character_id) or f"{character_id}_voice"
            if character.profile.get("engine") in engines and not (self.voices_dir / f"{voice_id}.wav").exists():
                needed.append(character_id)
        return needed

    def seed(self, force: bool = False, only: list[str] | None = None,
             progress: Callable[[int, int, str], None] | None = None,
             emotions: Mapping[str, Style] | None = None) -> list[SeedResult]:
        """Each chosen character's reference; with `emotions` (only when asked: recording them is an actor's
        job), also `<voice_id>@<emotion>.wav` in that emotion's pace, pitch, noise and loudness."""
        self._clean_stale()
        voice_map = read_voice_map(self.voices_dir)
        styles = dict(self.piper.styles)
        new_map = dict(voice_map)
        cast = sorted(self.story.characters)
        chosen = [c for c in cast if only is None or c in only]
        results = []
        for number, character_id in enumerate(chosen, start=1):
            if progress:
                progress(number, len(chosen), character_id)
            profile = self.story.characters[character_id].profile
            voice_id = str(profile.get("voice_id") or voice_map.get(character_id) or f"{character_id}_voice")
            new_map[character_id] = voice_id
            if voice_id not in styles:
                styles[voice_id] = self.piper.default_style(cast.index(character_id))
            self.piper.styles = styles
            results.append(self._seed_one(character_id, voice_id, profile, force))
            for emotion, style in (emotions or {}).items():
                results.append(self._seed_one(character_id, voice_id, profile, force, emotion, style))
        if styles != read_styles(self.styles_path):
            write_styles(self.styles_path, styles)
        if new_map != voice_map:
            write_atomic(self.voices_dir / VOICE_MAP, (json.dumps(new_map, indent=2, sort_keys=True) + "\n").encode())
        return results

    def _clean_stale(self) -> None:
        """Temporary files of a seeding that was killed (write_atomic's, older than any write in progress)."""
        for path in self.voices_dir.glob(".*.tmp"):
            try:
                if time.time() - path.stat().st_mtime > STALE_SECONDS:
                    path.unlink()
            except OSError:
                continue

    def _seed_one(self, character_id: str, voice_id: str, profile: Mapping[str, Any], force: bool,
                  emotion: str = "", style: Style | None = None) -> SeedResult:
        name = f"{voice_id}@{emotion}" if emotion else voice_id
        path = self.voices_dir / f"{name}.wav"
        existed = path.exists()
        if existed and not force:
            return SeedResult(character_id, name, "kept", soundfile.info(str(path)).duration)
        language = str(profile.get("language") or self.story.language)
        text = profile_seed_text(character_id, profile, language)
        target = float(profile.get("voice_seed_seconds_target") or 10)
        try:
            audio = self._speak(text, voice_id, target, style or Style())
        except (SpeechFailure, VoiceError, OSError, ValueError) as exc:
            return SeedResult(character_id, name, SEED_FAILED, detail=str(exc))
        write_atomic(path, encode(audio, RATE))
        return SeedResult(character_id, name, "regenerated" if existed else "created", len(audio) / RATE)

    def _speak(self, text: str, voice_id: str, target_seconds: float, style: Style) -> np.ndarray:
        """Sentences of the text until about `target_seconds` of speech (in an emotion's style, if one)."""
        chunks: list[AudioChunk] = []
        pitch = SEMITONE ** style.pitch  # as engines/acting.py: slower, then heard higher by relabelling
        for chunk in self.piper.render(text, self.piper.styles[voice_id], style.rate / pitch, style.noise):
            chunks.append(AudioChunk(chunk.samples, round(chunk.sample_rate * pitch)))
            if sum(c.seconds for c in chunks) >= target_seconds:
                break
        if not chunks:
            raise VoiceError(f"Piper produced no audio for voice {voice_id}")
        shorter = sum(c.seconds for c in chunks[:-1])
        if len(chunks) > 1 and target_seconds - shorter < sum(c.seconds for c in chunks) - target_seconds:
            chunks.pop()  # the last sentence overshoots more than leaving it out falls short
        audio = concat(chunks)
        samples = resample(audio.samples, audio.sample_rate, RATE)
        if style.gain_db:  # louder or quieter, never clipped (a clipped reference is refused)
            samples = samples * min(10 ** (style.gain_db / 20), 0.95 / max(float(np.max(np.abs(samples))), 1e-6))
        return samples.astype(np.float32)
