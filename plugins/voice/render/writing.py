"""What a render writes: each line's audio file at once (atomically), the manifest at most once a second."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine import write_atomic
from engine.formats.explore import Reach
from plugins.voice.engines.acting import delivery
from plugins.voice.engines.base import Engine
from plugins.voice.render.plan import RenderPlan, Synthesis
from plugins.voice.render.workers import Result
from plugins.voice.store.manifest import Entry, Manifest, file_name, text_sha

FLUSH_SECONDS = 1.0


@dataclass
class Report:
    reach: Reach
    plan: RenderPlan
    workers: int = 1
    made: int = 0  # syntheses that succeeded
    written: int = 0  # entries written
    failed: list[tuple[str, str]] = field(default_factory=list)  # (line key, reason)
    removed: int = 0  # orphan entries removed
    audio_seconds: float = 0.0
    render_ms: list[float] = field(default_factory=list)
    wall: float = 0.0
    lost: int = 0  # Ray workers lost mid-render
    gated: list[tuple[str, list[str]]] = field(default_factory=list)  # (line key, faults) kept although failed
    retakes: int = 0  # takes made again after the quality gate failed one
    recorded: int = 0  # entries from actors' takes (no synthesis)


class PackWriter:
    """The pack's only writer during a render (the render's thread); counts what it wrote in `report`."""

    def __init__(self, manifest: Manifest, folder: Path, audio_format: str, report: Report) -> None:
        self.manifest = manifest
        self.folder = folder
        self.audio_format = audio_format
        self.report = report
        self.flushed = -math.inf  # the first line's entry is written at once: a render killed early resumes too
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, synthesis: Synthesis, result: Result, engine: Engine) -> None:
        """One synthesis done: its file written now, the manifest when a second has passed."""
        report = self.report
        if result.data is None:
            report.failed += [(w.key, result.error or "no audio") for w in synthesis.entries]
        else:
            report.made += 1
            if result.gate is not None:
                report.retakes += int(result.gate.get("takes", 1)) - 1
                if not result.gate["passed"]:
                    report.gated += [(w.key, list(result.gate["faults"])) for w in synthesis.entries]
            report.render_ms.append(result.render_ms)
            report.audio_seconds += result.seconds
            self._write(synthesis, result, engine)
            report.written += len(synthesis.entries)
        if time.monotonic() - self.flushed >= FLUSH_SECONDS:
            self.manifest.write(self.folder)
            self.flushed = time.monotonic()

    def _write(self, synthesis: Synthesis, result: Result, engine: Engine) -> None:
        assert result.data is not None
        data = result.data
        sha = hashlib.sha256(data).hexdigest()
        voice = synthesis.voice
        for wanted in synthesis.entries:
            name = file_name(wanted.key, self.audio_format)
            write_atomic(self.folder / name, data)
            self.manifest.entries[wanted.key] = Entry(
                line_id=wanted.line_id, character_id=wanted.character_id, voice_id=voice.voice_id, text=wanted.text,
                text_sha=text_sha(wanted.text), engine=engine.name, model=engine.identity(voice),
                reference=voice.reference_hash,
                settings={"speed": voice.speed, "language": voice.language, **delivery(engine, voice, voice.speed).facts},
                signature=wanted.signature, file=name, file_sha=sha, seconds=round(result.seconds, 3),
                rate=result.rate, render_ms=round(result.render_ms, 1), gate=result.gate)

    def remove(self, orphans: list[str]) -> int:
        for key in orphans:
            entry = self.manifest.entries.pop(key, None)
            if entry is not None:
                (self.folder / entry.file).unlink(missing_ok=True)
        return len(orphans)
