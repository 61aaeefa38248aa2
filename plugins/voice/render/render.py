"""`engine render`: every reachable line of a story, synthesized once, checked into a voice pack.

The render is the pack's only writer. Each line's audio is written atomically as soon as it is
made; the manifest is written atomically at most once a second and at the end, so a killed
render loses at most the last second of work and the next run makes only what is missing.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine import Story, write_atomic
from engine.formats.explore import Reach, reachable_lines
from plugins.voice.casting.assembly import assemble
from plugins.voice.casting.seeder import SEED_FAILED
from plugins.voice.core.errors import SpeechFailure, VoiceError
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.engines.acting import delivery
from plugins.voice.engines.base import Engine
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.quality.gate import Judge, QualityGate
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.quality.speakers import SpeakerModel
from plugins.voice.render.plan import Plan, Synthesis, make_plan, wanted_entries
from plugins.voice.render.recorded import put_takes
from plugins.voice.render.workers import LocalPool, Pool, Result, Task
from plugins.voice.store.manifest import Entry, Manifest, file_name, text_sha
from plugins.voice.store.takes import TAKES, Takes

FLUSH_SECONDS = 1.0


@dataclass
class Report:
    reach: Reach
    plan: Plan
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


@dataclass
class Job:
    """A render as asked for on the command line."""

    story: Story
    settings: VoiceSettings
    folder: Path
    audio_format: str = "opus"
    engine: str | None = None  # None: each character's own engine
    ray: str | None = None  # "auto" or a cluster address
    workers: int = 0  # 0: one per CPU (GPU for XTTS) of the cluster
    max_states: int = 20_000
    quality: bool = False  # the quality gate checks every take ([voice.quality] render, off with --no-gate)


class Renderer:
    def __init__(self, job: Job, tell: Callable[[str], None] = lambda text: print(text, file=sys.stderr)) -> None:
        self.job = job
        self.tell = tell
        self.voices = assemble(job.story, job.settings)
        self.voices.require()
        self.styles = self.voices.styles
        self.engines = self.voices.engines()
        self.cast = self.voices.cast
        self.pool_started: Callable[[Pool], None] = lambda pool: None  # tests: see the pool (e.g. kill a worker)
        self.takes = Takes(job.story.root / TAKES)  # actors' recordings go in as they are
        self.speakers = SpeakerModel()
        self.book = ReferenceBook(self.speakers, lambda voice: self.cast.seed_text(voice.character_id))

    def plan(self, prepare: bool = True) -> tuple[Reach, Plan]:
        """prepare: check that the engines can render and seed missing references (not for verify)."""
        job = self.job
        reach = reachable_lines(job.story, max_states=job.max_states)
        if prepare:
            missing = job.quality and QualityGate(job.settings.quality, Transcriber(job.settings.speech_input),
                                                  self.speakers).missing()
            if missing:
                raise VoiceError(f"{missing[0].upper()}{missing[1:]}; or render with --no-gate (or set "
                                 "[voice.quality] render = false).")
            self._check_engines(reach)
            self._seed(reach)
        chosen = self.engines[job.engine] if job.engine else None
        try:
            wanted = wanted_entries(reach, self.cast, chosen, self.engines, self.takes)
        except SpeechFailure as exc:
            raise VoiceError(f"{exc.engine} cannot render this story: {exc.reason}.") from None
        return reach, make_plan(wanted, self._existing(), job.folder)

    def _existing(self) -> Manifest | None:
        """The pack's manifest, if it is in this render's audio format (else everything is made again)."""
        manifest = Manifest.read(self.job.folder)
        return manifest if manifest is not None and manifest.audio == self.job.audio_format else None

    def _names(self, reach: Reach) -> set[str]:
        if self.job.engine:
            return {self.job.engine}
        return {self.cast.voice_for(c).engine for c in {line.character_id for line in reach.lines}}

    def _check_engines(self, reach: Reach) -> None:
        for name in sorted(self._names(reach)):
            engine = self.engines.get(name)
            missing = engine.missing() if engine is not None else "no bridge is configured"
            if missing is not None:
                raise VoiceError(f"{name} cannot render: {missing}. Render with --engine piper (or another "
                                 "engine), or make this one available.")

    def _seed(self, reach: Reach) -> None:
        """Like play: XTTS clones references that Piper seeds first when they are missing."""
        if "xtts" not in self._names(reach):
            return
        for result in self.voices.seed(self.voices.needs_seed()):
            self.tell(f"Seeded {result.voice_id}.wav with Piper: {result.status}.")
            if result.status == SEED_FAILED:
                raise VoiceError(f"{SEED_FAILED} for {result.character_id}: {result.detail}; XTTS has no reference.")
        self.cast.check_references(self.tell)

    def run(self, progress: Callable[[int, int], None] = lambda done, total: None,
            planned: tuple[Reach, Plan] | None = None) -> Report:
        started = time.monotonic()
        reach, plan = planned or self.plan()
        job = self.job
        report = Report(reach, plan)
        manifest = self._existing() or Manifest(job.story.slug, job.audio_format, {})
        job.folder.mkdir(parents=True, exist_ok=True)
        last_flush = time.monotonic()
        finished = 0

        def done(task: Task, result: Result, synthesis: Synthesis, engine: Engine) -> None:
            nonlocal last_flush, finished
            finished += 1
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
                self._write(manifest, synthesis, result, engine)
                report.written += len(synthesis.entries)
            if time.monotonic() - last_flush >= FLUSH_SECONDS:
                manifest.write(job.folder)
                last_flush = time.monotonic()
            progress(finished, len(plan.todo))

        progress(0, len(plan.todo))
        recorded = [synthesis for synthesis in plan.todo if synthesis.take is not None]
        written, failed = put_takes(recorded, self.takes, manifest, job.folder, job.audio_format)
        report.written, report.failed, report.recorded = written, failed, written
        finished = len(recorded)
        for name, group in self._groups(plan).items():
            engine = self.engines[name]
            pool = self._pool(name, group)
            report.workers = pool.workers
            self.pool_started(pool)
            tasks = [Task(n, s.text, s.voice, engine.identity(s.voice), job.audio_format) for n, s in enumerate(group)]
            def report_one(task: Task, result: Result, engine: Engine = engine, group: list[Synthesis] = group) -> None:
                done(task, result, group[task.number], engine)

            try:
                pool.run(tasks, report_one)
            finally:
                report.lost += getattr(pool, "lost", 0)
                pool.close()
        if reach.complete:
            report.removed = self._remove(manifest, plan.orphans)
        manifest.write(job.folder)
        report.wall = time.monotonic() - started
        return report

    def _groups(self, plan: Plan) -> dict[str, list[Synthesis]]:
        groups: dict[str, list[Synthesis]] = {}
        for synthesis in (s for s in plan.todo if s.take is None):
            groups.setdefault(self.job.engine or synthesis.voice.engine, []).append(synthesis)
        return groups

    def _pool(self, name: str, group: list[Synthesis]) -> Pool:
        voices = list({s.voice.character_id: s.voice for s in group}.values())
        judge = self._judge(name) if self.job.quality else None
        if self.job.ray:
            from plugins.voice.render.ray_pool import RayPool

            return RayPool(self.job.ray, self.job.workers, self.job.settings, self.styles, name, voices, judge)
        return LocalPool(self.job.settings, self.styles, name, voices, judge)

    def _judge(self, name: str) -> Judge:
        """The gate for one engine, calibrated here (once) on every character of the cast as that engine speaks."""
        settings = self.job.settings
        calibration = None
        if settings.quality.speaker:
            calibration = self.book.calibration(self.engines[name], self.cast.voices())
        return Judge(settings.quality, settings.speech_input, calibration)

    def _write(self, manifest: Manifest, synthesis: Synthesis, result: Result, engine: Engine) -> None:
        assert result.data is not None
        data = result.data
        sha = hashlib.sha256(data).hexdigest()
        voice = synthesis.voice
        for wanted in synthesis.entries:
            name = file_name(wanted.key, self.job.audio_format)
            write_atomic(self.job.folder / name, data)
            manifest.entries[wanted.key] = Entry(
                line_id=wanted.line_id, character_id=wanted.character_id, voice_id=voice.voice_id, text=wanted.text,
                text_sha=text_sha(wanted.text), engine=engine.name, model=engine.identity(voice),
                reference=voice.reference_hash,
                settings={"speed": voice.speed, "language": voice.language, **delivery(engine, voice, voice.speed).facts},
                signature=wanted.signature, file=name, file_sha=sha, seconds=round(result.seconds, 3),
                rate=result.rate, render_ms=round(result.render_ms, 1), gate=result.gate)

    def _remove(self, manifest: Manifest, orphans: list[str]) -> int:
        for key in orphans:
            entry = manifest.entries.pop(key, None)
            if entry is not None:
                (self.job.folder / entry.file).unlink(missing_ok=True)
        return len(orphans)

    def estimate(self, plan: Plan) -> tuple[float, str]:
        """(seconds of synthesis per character of text, where the figure comes from) for a dry run."""
        manifest = Manifest.read(self.job.folder)
        engine = self.job.engine
        past = [e for e in (manifest.entries.values() if manifest else []) if engine in (None, e.engine)]
        if len(past) >= 3:
            rate = sum(e.render_ms for e in past) / 1000 / max(1, sum(len(e.text) for e in past))
            return rate, f"measured on {len(past)} lines of this pack"
        sample = plan.todo[:3]
        if not sample:
            return 0.0, "nothing to render"
        name = engine or sample[0].voice.engine
        pool = LocalPool(self.job.settings, self.styles, name, [s.voice for s in sample])
        times: list[float] = []
        try:
            for n, s in enumerate(sample):
                seconds = _timed(pool, Task(n, s.text, s.voice, self.engines[name].identity(s.voice), "flac"))
                times.append(seconds / max(1, len(s.text)))
        finally:
            pool.close()
        return statistics.median(times), f"measured now on {len(sample)} lines with {name}, on this machine"


def _timed(pool: LocalPool, task: Task) -> float:
    holder: list[Result] = []
    pool.run([task], lambda _, result: holder.append(result))
    if holder[0].data is None:
        raise VoiceError(f"{pool.engine.name} failed while measuring: {holder[0].error}.")
    return holder[0].render_ms / 1000
