"""Who a line is spoken by, and how: the value types every part of the plugin shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from plugins.voice.core.acting import NEUTRAL, Acting
from plugins.voice.core.budget import Budget


@dataclass(frozen=True)
class Voice:
    """Everything that decides how one character sounds."""

    character_id: str
    voice_id: str
    engine: str  # the engine the profile asks for
    language: str
    speed: float
    variant: int  # the character's place in the cast: picks a distinct default voice on each engine
    names: Mapping[str, str] = field(default_factory=dict)  # per-engine voice names from the profile
    references: tuple[Path, ...] = ()  # checked reference WAVs for cloning engines
    reference_hash: str | None = None  # sha256 over their contents, None if there are none
    seed_failed: bool = False  # VoiceSeeder could not make its reference: cloning is not attempted
    acting: Acting = NEUTRAL  # the line's emotion and effect (core/acting.py)
    acted_reference: bool = False  # `references` are the emotion's own (voices/<voice_id>@<emotion>.wav)


@dataclass(frozen=True)
class LineSettings:
    """Per-line synthesis settings (from the character's profile)."""

    speed: float = 1.0
    language: str = "en"
    background: bool = False  # made ahead of time (prefetch): may give way to a line being spoken
    take: int = 0  # a retake after the quality gate failed one: engines that sample may vary it
    budget: Budget | None = field(default=None, compare=False)  # how long the reader waits for each chunk
