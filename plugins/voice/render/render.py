"""`engine render`: every reachable line of a story, synthesized once, checked into a voice pack.

The render is the pack's only writer (render/writing.py): each line's audio is written atomically
as soon as it is made; the manifest at most once a second and at the end, so a killed render loses
at most the last second of work and the next run makes only what is missing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import Story
from engine.formats.explore import Reach, reachable_lines
from plugins.voice.casting.assembly import assemble
from plugins.voice.casting.seeder import SEED_FAILED
from plugins.voice.core.errors import SpeechFailure, VoiceError
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.engines.base import Engine
from plugins.voice.engines.cloning import CLONING_ENGINES
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.quality.gate import Judge, QualityGate
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.quality.speakers import SpeakerModel
from plugins.voice.render.plan import RenderPlan, Synthesis, make_plan, wanted_entries
from plugins.voice.render.recorded import put_takes
from plugins.voice.render.workers import LocalPool, Pool, RenderTask, Result
from plugins.voice.render.writing import PackWriter, Report
from plugins.voice.store.manifest import Manifest
from plugins.voice.store.takes import TAKES, Takes


@dataclass
class RenderJob:
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
    def __init__(self, job: RenderJob, tell: Callable[[str], None] = lambda text: print(text, file=sys.stderr)) -> None:
        self.job = job
        self.tell = tell
        self.voices = assemble(job.story, job.settings)
        self.voices.require()
        self.styles = self.voices.styles
        self.engines = self.voices.engines(xtts_may_speak=job.engine in (None, "xtts"))  # not for `--engine piper`
        self.cast = self.voices.cast
        self.takes = Takes(job.story.root / TAKES)  # actors' recordings go in as they are
        self.speakers = SpeakerModel()
        self.book = ReferenceBook(self.speakers, lambda voice: self.cast.seed_text(voice.character_id))

    def plan(self, prepare: bool = True) -> tuple[Reach, RenderPlan]:
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
        else:  # the references the voices were cloned from, checked as a render checks them: the same signatures
            self.cast.check_references(lambda text: None)
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
        if not set(CLONING_ENGINES) & self._names(reach):
            return
        for result in self.voices.seed(self.voices.needs_seed()):
            self.tell(f"Seeded {result.voice_id}.wav with Piper: {result.status}.")
            if result.status == SEED_FAILED:
                raise VoiceError(f"{SEED_FAILED} for {result.character_id}: {result.detail}; nothing to clone.")
        self.cast.check_references(self.tell)

    def run(self, progress: Callable[[int, int], None] = lambda done, total: None,
            planned: tuple[Reach, RenderPlan] | None = None,
            pool_ready: Callable[[Pool], None] = lambda pool: None) -> Report:
        """Renders what the plan says; `pool_ready` is told when each engine's workers are up (a bench times
        the render from there; a test kills a worker)."""
        started = time.monotonic()
        reach, plan = planned or self.plan()
        job = self.job
        report = Report(reach, plan)
        writer = PackWriter(self._existing() or Manifest(job.story.slug, job.audio_format, {}), job.folder,
                            job.audio_format, report)
        progress(0, len(plan.todo))
        recorded = [synthesis for synthesis in plan.todo if synthesis.take is not None]
        written, failed = put_takes(recorded, self.takes, writer.manifest, job.folder, job.audio_format)
        report.written, report.failed, report.recorded = written, failed, written
        finished = len(recorded)
        for name, group in self._groups(plan).items():
            engine = self.engines[name]
            pool = self._pool(name, group)
            report.workers = pool.workers
            pool_ready(pool)
            tasks = [RenderTask(n, s.text, s.voice, engine.identity(s.voice), job.audio_format) for n, s in enumerate(group)]

            def one(task: RenderTask, result: Result, engine: Engine = engine, group: list[Synthesis] = group) -> None:
                nonlocal finished
                finished += 1
                writer.add(group[task.number], result, engine)
                progress(finished, len(plan.todo))

            try:
                pool.run(tasks, one)
            finally:
                report.lost += getattr(pool, "lost", 0)
                pool.close()
        if reach.complete:
            report.removed = writer.remove(plan.orphans)
        writer.manifest.write(job.folder)
        report.wall = time.monotonic() - started
        return report

    def _groups(self, plan: RenderPlan) -> dict[str, list[Synthesis]]:
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
