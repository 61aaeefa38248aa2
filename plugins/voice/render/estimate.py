"""`engine render --dry-run`: how long a render would take, from the pack's past lines or three made now."""

from __future__ import annotations

import statistics

from plugins.voice.core.errors import VoiceError
from plugins.voice.render.plan import RenderPlan
from plugins.voice.render.render import Renderer
from plugins.voice.render.workers import LocalPool, RenderTask, Result
from plugins.voice.store.manifest import Manifest


def estimate(renderer: Renderer, plan: RenderPlan) -> tuple[float, str]:
    """(seconds of synthesis per character of text, where the figure comes from) for a dry run."""
    manifest = Manifest.read(renderer.job.folder)
    engine = renderer.job.engine
    past = [e for e in (manifest.entries.values() if manifest else []) if engine in (None, e.engine)]
    if len(past) >= 3:
        rate = sum(e.render_ms for e in past) / 1000 / max(1, sum(len(e.text) for e in past))
        return rate, f"measured on {len(past)} lines of this pack"
    sample = plan.todo[:3]
    if not sample:
        return 0.0, "nothing to render"
    name = engine or sample[0].voice.engine
    pool = LocalPool(renderer.job.settings, renderer.styles, name, [s.voice for s in sample])
    times: list[float] = []
    try:
        for n, s in enumerate(sample):
            seconds = _timed(pool, RenderTask(n, s.text, s.voice, renderer.engines[name].identity(s.voice), "flac"))
            times.append(seconds / max(1, len(s.text)))
    finally:
        pool.close()
    return statistics.median(times), f"measured now on {len(sample)} lines with {name}, on this machine"


def _timed(pool: LocalPool, task: RenderTask) -> float:
    holder: list[Result] = []
    pool.run([task], lambda _, result: holder.append(result))
    if holder[0].data is None:
        raise VoiceError(f"{pool.engine.name} failed while measuring: {holder[0].error}.")
    return holder[0].render_ms / 1000
