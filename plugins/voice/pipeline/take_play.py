"""A line an actor has recorded is played from its best take, with no synthesis at all (store/takes.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import SpokenLine
from plugins.voice.output.playback import Output
from plugins.voice.pipeline.line_play import Job, done, first_audio, gap_facts
from plugins.voice.store.takes import BadTake, Take, Takes


class TakePlay:
    def __init__(self, takes: Takes, output: Output, trace: Callable[[dict[str, Any]], None],
                 warn_once: Callable[[str, str], None]) -> None:
        self.takes = takes
        self.output = output
        self.trace = trace
        self.warn_once = warn_once

    def has(self, line: SpokenLine) -> bool:
        """Whether a current take exists (runner's thread: such lines are not prefetched)."""
        return self.takes.best(line.line_id, line.text) is not None

    def play(self, job: Job, record: dict[str, Any], gain_db: float) -> bool:
        """Plays the line's best playable take; False (each refusal said once) when it has none."""
        for take in self.takes.candidates(job.line.line_id, job.line.text):
            if take.stale(job.line.text):
                self.warn_once(f"stale:{take.path}", f"The take {take.status}/{take.path.name} was recorded for "
                                                     f"\"{take.text}\"; the line now says something else, so it is "
                                                     "synthesized until it is recorded again.")
                continue
            try:
                audio = self.takes.audio(take)
            except BadTake as exc:
                self.warn_once(f"bad:{take.path}:{take.sha256}", f"{exc}; the line is synthesized instead.")
                continue
            self._play(job, record, take, audio, gain_db)
            return True
        return False

    def _play(self, job: Job, record: dict[str, Any], take: Take, audio: Any, gain_db: float) -> None:
        self.output.start_line(gain_db)  # loudness-matched: the same rule as synthetic lines
        started = self.output.play(audio)
        gaps = self.output.end_line()
        self.trace({**record, "engine": "recorded", "take": take.status, "take_file": take.path.name,
                    "cache": "take", "ready": True, "prefetched": False, **first_audio(job, started),
                    **done(job, [audio]), **gap_facts(gaps)})
