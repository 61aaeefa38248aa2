"""One builder for a story's voices, used by every front end (play, render, say, check).

It reads voices/voice_map.json and voices/piper_voices.toml once (a file that cannot be read is
kept as a problem, with what follows from it: play goes on and says so, render and say stop,
check lists it), makes the cast, the engines on demand, and seeds missing references with Piper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine import Story
from plugins.voice.casting.cast import VOICE_MAP, Cast, build_cast, read_voice_map
from plugins.voice.casting.seeder import SEED_FAILED, STYLES_FILE, SeedResult, VoiceSeeder
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.engines.base import Engine, EngineEvents, log_event
from plugins.voice.engines.piper.styles import PiperStyle, read_styles
from plugins.voice.engines.registry import build_engines
from plugins.voice.engines.xtts.engine import preload_torch


@dataclass(frozen=True)
class Unreadable:
    path: Path
    message: str
    consequence: str  # what happens instead while a game plays


@dataclass
class StoryVoices:
    story: Story
    settings: VoiceSettings
    cast: Cast
    styles: dict[str, PiperStyle]
    unreadable: list[Unreadable] = field(default_factory=list)

    def require(self) -> None:
        """For commands that must not guess (render, say): the first file that could not be read stops them."""
        if self.unreadable:
            raise VoiceError(self.unreadable[0].message)

    def engines(self, events: EngineEvents = log_event, xtts_may_speak: bool = True) -> dict[str, Engine]:
        """Every engine, built once; when XTTS may speak and can, torch is imported here, on the caller's thread
        before it starts any of its own (see preload_torch)."""
        engines = build_engines(self.settings, events, self.styles)
        if xtts_may_speak and (engines["xtts"].missing() is None or engines["pocket"].missing() is None):
            preload_torch()
        return engines

    def needs_seed(self) -> list[str]:
        """Characters whose cloned voice has no reference WAV yet (none when [voice] auto_seed is off)."""
        if not self.settings.auto_seed:
            return []
        return VoiceSeeder(self.story, self.settings.voices_dir, self.settings.piper).needs_seed()

    def seed(self, only: Sequence[str], progress: Callable[[int, int, str], None] | None = None) -> list[SeedResult]:
        """Piper makes these characters' references (VoiceSeeder); the cast learns the new voice map, and a
        character whose seeding failed is marked, so its lines go to another engine."""
        if not only:
            return []
        seeder = VoiceSeeder(self.story, self.settings.voices_dir, self.settings.piper)
        results = seeder.seed(only=list(only), progress=progress)
        for result in results:
            if result.status == SEED_FAILED:
                self.cast.mark_seed_failed(result.character_id)
        try:
            self.cast.set_voice_map(read_voice_map(self.settings.voices_dir))
        except VoiceError:
            pass  # edited meanwhile and broken: the cast keeps its map (the voices/ watcher reports the file)
        return results


def assemble(story: Story, settings: VoiceSettings) -> StoryVoices:
    voices_dir = settings.voices_dir
    unreadable = []
    try:
        voice_map = read_voice_map(voices_dir)
    except VoiceError as exc:
        unreadable.append(Unreadable(voices_dir / VOICE_MAP, str(exc), "Voices come from the profiles."))
        voice_map = {}
    try:
        styles = read_styles(voices_dir / STYLES_FILE)
    except VoiceError as exc:
        unreadable.append(Unreadable(voices_dir / STYLES_FILE, str(exc), "Piper uses defaults."))
        styles = {}
    return StoryVoices(story, settings, build_cast(story, settings, voice_map), styles, unreadable)
