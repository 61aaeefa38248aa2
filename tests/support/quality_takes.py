"""A fixed set of takes for the quality gate, made here with real engines: correct lines (Piper,
Kokoro), and the faults XTTS is known for, made on purpose from correct ones: cut at 60%, words
appended, another character's voice, silence, noise. Used by tests/voice/quality/test_quality.py and
bench/quality.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import load_story
from plugins.voice.casting.cast import Cast, build_cast, read_voice_map
from plugins.voice.casting.seeder import STYLES_FILE, VoiceSeeder
from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.settings import PiperSettings, VoiceSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.piper.styles import read_styles

ROOT = Path(__file__).resolve().parents[2]
LINES = {  # the tomb's own lines
    "archaeologist": ["It is evidence, Tariq. It goes in a museum, not back on a shelf.",
                      "According to this, he still does. In his sleep."],
    "guide": ["Look at the floor. There are footprints in the dust, and they are not ours.",
              "So the sun he carries now, who brings it up in the morning?"],
    "narrator": ["The scarab is heavier than it looks, and warm, as if it had been lying in the sun.",
                 "Far below your feet, something vast draws a long, slow breath."],
    "god": ["The dawn you take for granted is still my gift.", "Speak softly in my halls, little thieves."],
    "scribe": ["Most of them are late. Most of them are rude.", "I write down everyone who visits."],
}
IMPOSTOR = {"archaeologist": "god", "guide": "scribe", "narrator": "archaeologist", "god": "scribe", "scribe": "god"}
APPENDED = " And then I saw the river, and the boats, and the birds."
FAULTS = ("cut", "appended", "other_voice", "silence", "noise")
CAUGHT_BY = {  # which of the gate's checks each fault must trip (any one of them)
    "cut": ("words", "cut", "short"), "appended": ("words", "long"), "other_voice": ("speaker",),
    "silence": ("words", "speaker"), "noise": ("words", "speaker"),
}


@dataclass(frozen=True)
class Take:
    kind: str  # "ok" or a fault
    engine: str
    character_id: str
    text: str
    audio: AudioChunk


def tomb_cast(folder: Path) -> tuple[Cast, PiperEngine]:
    """The tomb's cast with its references seeded by Piper into `folder`, and a repeatable Piper."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STYLES_FILE).write_bytes((ROOT / "voices" / STYLES_FILE).read_bytes())
    story = load_story(ROOT / "stories" / "tomb")
    settings = VoiceSettings(voices_dir=folder, checked_dir=folder / "checked")
    VoiceSeeder(story, folder, settings.piper).seed()
    piper = PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0), read_styles(folder / STYLES_FILE))
    cast = build_cast(story, settings, read_voice_map(folder))
    cast.check_references(lambda text: None)
    return cast, piper


def speak(engine: Engine, text: str, voice: Voice) -> AudioChunk:
    return concat(list(engine.synthesize(text, voice, LineSettings(speed=voice.speed, language=voice.language))))


def takes(cast: Cast, piper: Engine, kokoro: Engine | None = None, per_character: int = 2) -> Iterator[Take]:
    rng = np.random.default_rng(7)
    for character_id, texts in LINES.items():
        voice = cast.voice_for(character_id)
        for text in texts[:per_character]:
            good = speak(piper, text, voice)
            yield Take("ok", "piper", character_id, text, good)
            cut = good.samples[: int(len(good.samples) * 0.6)]
            yield Take("cut", "piper", character_id, text, AudioChunk(cut, good.sample_rate))
            yield Take("appended", "piper", character_id, text, speak(piper, text + APPENDED, voice))
            yield Take("other_voice", "piper", character_id, text,
                       speak(piper, text, cast.voice_for(IMPOSTOR[character_id])))
            if kokoro is not None:
                yield Take("ok", "kokoro", character_id, text, speak(kokoro, text, voice))
        seconds = max(2.0, good.seconds)
        yield Take("silence", "piper", character_id, text, AudioChunk(np.zeros(int(good.sample_rate * seconds),
                                                                               np.float32), good.sample_rate))
        noise = (rng.standard_normal(int(good.sample_rate * seconds)) * 0.1).astype(np.float32)
        yield Take("noise", "piper", character_id, text, AudioChunk(noise, good.sample_rate))
