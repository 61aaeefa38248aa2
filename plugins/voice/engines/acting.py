"""How an engine applies a line's acting (core/acting.py): what it is asked for, what is done to its chunks.

- pace: the engine's own speed (every engine has one);
- pitch: edge has its own; elsewhere the engine is asked for a slower line, whose chunks are then labelled at a
  higher sample rate (heard higher and, by the same factor, shorter: the pace comes out as asked);
- a cloning engine that has the emotion's own reference (voices/fred@angry.wav) takes neither: the actor's
  recording carries them;
- the effect (core/effects.py) is applied to the chunks as they come; loudness is the output's (Output.start_line).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.effects import Effect
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine, closing

SEMITONE = 2 ** (1 / 12)


@dataclass(frozen=True)
class Delivery:
    speed: float  # what the engine is asked for
    pitch: float  # factor the chunks' rate is relabelled by (1: none)
    native_pitch: float  # semitones for an engine that shifts pitch itself (edge)
    effect: str
    facts: dict[str, Any]  # what was applied, for the trace and the pack's manifest


def delivery(engine: Engine, voice: Voice, speed: float) -> Delivery:
    acting = voice.acting
    style = acting.style
    facts: dict[str, Any] = {"emotion": acting.emotion, "effect": acting.effect} if acting.key() else {}
    if engine.clones and acting.emotion:
        facts["emotion_reference"] = voice.acted_reference  # False: cloned from the neutral recording
    if engine.clones and voice.acted_reference:
        return Delivery(speed, 1.0, 0.0, acting.effect, facts)
    if style.rate != 1.0 or style.pitch:
        facts.update(rate=style.rate, pitch=style.pitch)
    if engine.native_pitch:
        return Delivery(speed * style.rate, 1.0, style.pitch, acting.effect, facts)
    factor = SEMITONE ** style.pitch
    return Delivery(speed * style.rate / factor, factor, 0.0, acting.effect, facts)


def acted(chunks: Iterator[AudioChunk], plan: Delivery) -> Iterator[AudioChunk]:
    """The engine's chunks with the effect and the pitch applied; closing it closes the engine's stream."""
    if plan.pitch == 1.0 and not plan.effect:
        yield from chunks
        return
    effect = Effect(plan.effect) if plan.effect else None
    with closing(chunks):
        for chunk in chunks:
            samples = effect.process(chunk.samples, chunk.sample_rate) if effect else chunk.samples
            yield AudioChunk(samples, round(chunk.sample_rate * plan.pitch))
