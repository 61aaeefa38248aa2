"""Who synthesizes a render's lines: this process (LocalPool) or a Ray cluster (plugins.voice.render.ray_pool).

A pool runs tasks and reports each one, on the caller's thread, through `done(task, result)`:
the result is the audio with its synthesis time, or the reason it failed. The caller (the render)
is the only one writing the pack.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.errors import SpeechFailure
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine
from plugins.voice.engines.piper.styles import PiperStyle
from plugins.voice.engines.registry import build_engines
from plugins.voice.quality.gate import Judge, best_take, retries_for
from plugins.voice.store.manifest import encode


@dataclass(frozen=True)
class RenderTask:
    number: int
    text: str
    voice: Voice
    identity: str  # the engine identity the plan expects (a worker with another model refuses)
    audio_format: str  # the worker encodes (it has the cores; encoded audio is also what travels)


@dataclass(frozen=True)
class Result:
    data: bytes | None  # the encoded file
    rate: int
    seconds: float
    render_ms: float  # synthesis of every take, without checks or encoding
    error: str | None = None
    worker: str = "local"
    gate: dict[str, Any] | None = None  # the quality gate's verdict on the kept take, with how many were made


def failed(error: str, render_ms: float = 0.0) -> Result:
    return Result(None, 0, 0.0, render_ms, error)


Done = Callable[[RenderTask, Result], None]


class Pool(Protocol):
    workers: int

    def run(self, tasks: Sequence[RenderTask], done: Done) -> None: ...
    def close(self) -> None: ...


def synthesize(engine: Engine, task: RenderTask, judge: Judge | None = None) -> Result:
    """One line, whole, encoded for the pack: what every pool runs. With a judge (the quality gate),
    a failed take is made again while the engine's takes can differ, and the best one is kept."""
    started = time.perf_counter()
    synthesis = 0.0

    def make(take: int) -> AudioChunk | None:
        nonlocal synthesis
        begun = time.perf_counter()
        settings = LineSettings(speed=task.voice.speed, language=task.voice.language, take=take)
        try:
            chunks = list(engine.synthesize(task.text, task.voice, settings))
        finally:
            synthesis += time.perf_counter() - begun
        return concat(chunks) if chunks else None

    try:
        identity = engine.identity(task.voice)
        if identity != task.identity:
            return failed(f"this worker's {engine.name} is {identity}, the plan's is {task.identity}")
        if judge is None:
            audio, gate = make(0), None
        else:
            character = task.voice.character_id
            kept = best_take(make, lambda audio, take: judge(task.text, audio, character, take),
                             retries_for(engine, judge.settings))
            audio, gate = (kept.audio, kept.record()) if kept else (None, None)
    except SpeechFailure as exc:
        return failed(f"{exc.engine}: {exc.reason}", (time.perf_counter() - started) * 1000)
    if audio is None:
        return failed(f"{engine.name} made no audio", synthesis * 1000)
    data, rate = encode(audio, task.audio_format)
    return Result(data, rate, audio.seconds, synthesis * 1000, gate=gate)


class LocalPool:
    """This process, one line at a time (the baseline, and what a render without --ray uses)."""

    workers = 1

    def __init__(self, settings: VoiceSettings, styles: dict[str, PiperStyle], engine_name: str,
                 voices: Sequence[Voice], judge: Judge | None = None) -> None:
        self.engines = build_engines(settings, piper_styles=styles)
        self.engine = self.engines[engine_name]
        self.engine.prepare(list(voices))
        self.judge = judge

    def run(self, tasks: Sequence[RenderTask], done: Done) -> None:
        for task in tasks:
            done(task, synthesize(self.engine, task, self.judge))

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()


def shipped_references(voices: Sequence[Voice]) -> dict[str, bytes]:
    """Every reference WAV the voices clone, by path, to send to workers on other machines."""
    return {str(path): Path(path).read_bytes() for voice in voices for path in voice.references}


def localize(voice: Voice, folder: Path, references: dict[str, Any]) -> Voice:
    """The voice with its references rewritten to copies in `folder` (written by the worker)."""
    paths = []
    for path in voice.references:
        local = folder / f"{hashlib.sha256(str(path).encode()).hexdigest()[:12]}-{Path(path).name}"
        if str(path) in references and not local.exists():
            local.write_bytes(references[str(path)])
        paths.append(local if str(path) in references else path)
    return replace(voice, references=tuple(paths))
