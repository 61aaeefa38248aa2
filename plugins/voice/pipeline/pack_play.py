"""Lines a voice pack holds (`engine render`) are played from it, while it still matches them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import SpokenLine
from plugins.voice.casting.cast import Cast
from plugins.voice.core.errors import VoiceError
from plugins.voice.output.playback import Output
from plugins.voice.pipeline.line_play import Job, done, first_audio, gap_facts
from plugins.voice.store.manifest import Entry
from plugins.voice.store.pack import Pack


class PackPlay:
    def __init__(self, pack: Pack, cast: Cast, output: Output, trace: Callable[[dict[str, Any]], None],
                 warn_once: Callable[[str, str], None]) -> None:
        self.pack = pack
        self.cast = cast
        self.output = output
        self.trace = trace
        self.warn_once = warn_once

    def entry(self, line: SpokenLine) -> Entry | None:
        try:
            return self.pack.entry(line, self.cast.voice_id(line.character_id), self.cast.directions.of(line))
        except VoiceError:
            return None

    def play(self, job: Job, record: dict[str, Any]) -> bool:
        """Plays the line from the pack if it holds a current recording of it; else says so once, and False."""
        entry = self.entry(job.line)
        audio = self.pack.audio(entry) if entry is not None else None
        if audio is None:
            self.warn_once("pack", f"The voice pack {self.pack.folder} has no current recording of line "
                                   f"{job.line.line_id}{' (its file is damaged)' if entry else ''}; lines it lacks "
                                   "are spoken live.")
            return False
        assert entry is not None
        self.output.start_line(self.cast.directions.of(job.line).gain_db)
        started = self.output.play(audio)
        gaps = self.output.end_line()
        self.trace({**record, "voice_id": entry.voice_id, "engine": "pack", "rendered_by": entry.engine,
                    "cache": "pack", "ready": True, "prefetched": False, **first_audio(job, started),
                    **done(job, [audio]), **gap_facts(gaps)})
        return True
