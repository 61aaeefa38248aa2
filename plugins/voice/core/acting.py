"""What a line's acting directions mean for its voice: an emotion, an effect, or silence.

Directions (`(whispering)`), qualifiers (`(O.S.)`) and `#vo:` tags are split off the text by the engine
(engine/core/directions.py). Here the shipped tables, with config.toml's `[voice.directions]`,
`[voice.qualifiers]` and `[voice.emotions.NAME]` over them, turn them into an Acting: which emotion (its
Style: pace, pitch, loudness, Piper's noise), which effect after synthesis (effects.py), or `silent` for a
line that is only a sound cue (`(SFX) A door slams.`). Engines apply what they can (engines/acting.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine import SpokenLine
from engine.core.model import Line
from engine.tables import between

SILENT = "silent"  # a direction whose line is shown, never spoken


@dataclass(frozen=True)
class Style:
    """How an emotion changes a synthetic voice (a cloning engine with the emotion's own reference uses
    only the loudness: the actor's recording carries the rest)."""

    rate: float = field(default=1.0, metadata=between(0.5, 2.0))  # x speaking rate
    pitch: float = field(default=0.0, metadata=between(-12, 12))  # semitones
    gain_db: float = field(default=0.0, metadata=between(-30, 12))  # loudness against the line's normal level
    noise: float = field(default=0.0, metadata=between(0, 2))  # Piper's noise_scale (breathiness); 0: its setting


NEUTRAL_STYLE = Style()
EMOTIONS: dict[str, Style] = {
    "whisper": Style(rate=0.92, pitch=0.0, gain_db=-10.0, noise=1.0),
    "shout": Style(rate=1.05, pitch=2.0, gain_db=5.0),
    "angry": Style(rate=1.08, pitch=1.0, gain_db=3.0),
    "sad": Style(rate=0.86, pitch=-1.5, gain_db=-3.0),
    "happy": Style(rate=1.06, pitch=1.5, gain_db=1.0),
    "afraid": Style(rate=1.12, pitch=2.0, gain_db=-2.0),
    "calm": Style(rate=0.93, pitch=-1.0, gain_db=-1.0),
}
EFFECTS = ("offscreen", "radio", "phone")
EFFECT_GAIN_DB = {"offscreen": -5.0, "radio": 0.0, "phone": 0.0}

_WORDS = {
    "whisper": "whisper whispering whispers whispered quietly softly hushed murmuring murmurs under-breath low",
    "shout": "shout shouting shouts yelling yells screaming screams loud loudly calling bellowing",
    "angry": "angry angrily furious furiously annoyed irritated snapping snaps through-gritted-teeth",
    "sad": "sad sadly tearful tearfully crying sobbing mournful mournfully",
    "happy": "happy happily cheerful cheerfully laughing brightly delighted warmly",
    "afraid": "afraid scared fearful fearfully nervous nervously terrified trembling panicked",
    "calm": "calm calmly gently soothing soothingly evenly flat",
    "": "beat pause turning turns sighs sigh nods smiles beat-pause continuing cont'd",
    SILENT: "sfx sound music fx noise",
}
DIRECTIONS: dict[str, str] = {word.replace("-", " "): emotion for emotion, words in _WORDS.items()
                              for word in words.split()}
QUALIFIERS: dict[str, str] = {
    **dict.fromkeys(("o.s.", "os", "o.c.", "oc", "off", "off screen", "offscreen", "off-screen"), "offscreen"),
    **dict.fromkeys(("radio", "walkie", "walkie-talkie", "comms", "intercom", "tannoy", "p.a.", "pa"), "radio"),
    **dict.fromkeys(("phone", "on phone", "telephone", "v.o. phone"), "phone"),
    **dict.fromkeys(("v.o.", "vo", "cont'd", "contd", "cont"), ""),
}


@dataclass(frozen=True)
class Acting:
    emotion: str = ""  # "" is the character's neutral voice
    effect: str = ""
    style: Style = NEUTRAL_STYLE
    silent: bool = False  # only a sound cue: shown, not spoken
    unknown: tuple[str, ...] = ()  # directions no table maps (ignored; `engine check` warns)

    @property
    def gain_db(self) -> float:
        return self.style.gain_db + EFFECT_GAIN_DB.get(self.effect, 0.0)

    def key(self) -> dict[str, object] | None:
        """What of it changes the audio an engine makes (for cache keys); None when nothing does."""
        if not self.emotion and not self.effect:
            return None
        return {"emotion": self.emotion, "effect": self.effect, "rate": self.style.rate, "pitch": self.style.pitch,
                "noise": self.style.noise}


NEUTRAL = Acting()


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w.'\- ]", " ", text.lower()).split())


class Directions:
    """The shipped tables with the config's over them; turns a line's directions into its Acting."""

    def __init__(self, directions: Mapping[str, str] | None = None, qualifiers: Mapping[str, str] | None = None,
                 emotions: Mapping[str, Style] | None = None) -> None:
        self.directions = {**DIRECTIONS, **{_key(k): v for k, v in (directions or {}).items()}}
        self.qualifiers = {**QUALIFIERS, **{_key(k): v for k, v in (qualifiers or {}).items()}}
        self.emotions = {**EMOTIONS, **(emotions or {})}

    def problems(self) -> list[str]:
        """Config values that name no emotion or effect."""
        known = set(self.emotions) | {"", SILENT}
        found = [f"[voice.directions] {k!r} = {v!r}: not an emotion ({', '.join(sorted(self.emotions))}), "
                 f"'' or '{SILENT}'" for k, v in self.directions.items() if v not in known]
        found += [f"[voice.qualifiers] {k!r} = {v!r}: not an effect ({', '.join(EFFECTS)}) or ''"
                  for k, v in self.qualifiers.items() if v and v not in EFFECTS]
        return found

    def of(self, line: Line | SpokenLine) -> Acting:
        """Directions first, then `vo:` tags over them; a qualifier gives the effect (a tag may too)."""
        emotion, effect, silent = "", self.qualifiers.get(_key(line.qualifier), ""), False
        unknown = []
        if line.qualifier and _key(line.qualifier) not in self.qualifiers:
            unknown.append(line.qualifier)
        for word in (*line.directions, *(t.partition(":")[2] for t in line.tags if t.partition(":")[0] == "vo")):
            found = self.meaning(word)
            if found is None:
                unknown.append(word)
            elif found == SILENT:
                silent = True
            elif found in EFFECTS:
                effect = found
            elif found:
                emotion = found
        return Acting(emotion, effect, self.emotions.get(emotion, NEUTRAL_STYLE), silent, tuple(unknown))

    def meaning(self, direction: str) -> str | None:
        """An emotion, an effect, "" (a blocking direction), SILENT, or None when nothing maps it. A longer
        direction ('angrily, to Fred') is read by its parts, then its words."""
        key = _key(direction)
        if key.startswith("to "):  # whom the line is said to ('to Fred'): blocking
            return ""
        for candidate in (key, *[_key(p) for p in re.split(r"[,;]", key)], *key.split()):
            if candidate in self.emotions or candidate in EFFECTS:
                return candidate
            if candidate in self.directions:
                return self.directions[candidate]
            if candidate in self.qualifiers and self.qualifiers[candidate]:
                return self.qualifiers[candidate]
        return None
