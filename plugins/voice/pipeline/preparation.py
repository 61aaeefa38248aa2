"""Getting the engines ready for the cast: before the first line (with a voice pack, at its first
miss) missing references are seeded with Piper and checked, and every engine the cast may use
prepares (loads its model, computes latents); again for characters whose voice changed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from plugins.voice.casting.assembly import StoryVoices
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.seeder import SEED_FAILED
from plugins.voice.core.errors import SpeechFailure, VoiceError
from plugins.voice.engines.cloning import CLONING_ENGINES
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.prefetch import Prefetcher

log = logging.getLogger(__name__)


class Preparation:
    def __init__(self, cast: Cast, fallback: Fallback, seeder: StoryVoices | None, prefetcher: Prefetcher | None,
                 notify: Callable[[str], None], trace: Callable[[dict[str, Any]], None]) -> None:
        self.cast = cast
        self.fallback = fallback
        self.seeder = seeder
        self.prefetcher = prefetcher
        self.notify = notify
        self.trace = trace
        self.done = False

    def once(self) -> None:
        """Speaker's thread, before the first line it makes: seeds, checks references, lets engines load."""
        if self.done:
            return
        self.done = True
        self.trace({"event": "voice_prepare"})
        try:
            if self.seeder is not None:
                self._seed(self.seeder)
            self.cast.check_references(self.notify)
            self.refresh(self.cast.order)
        except VoiceError as exc:  # e.g. a broken voice_map.json: the watcher tells the player; one line here
            log.warning("preparing the voice engines stopped: %s", exc)
        except Exception:  # preparing is an optimisation; lines still get spoken without it
            log.exception("preparing the voice engines failed")

    def _seed(self, seeder: StoryVoices) -> None:
        if not any(self.fallback.ready(name) for name in CLONING_ENGINES):
            return  # nothing would clone these voices now: no need to make them yet
        needed = seeder.needs_seed()
        if not needed:
            return
        self.notify(f"Seeding {len(needed)} reference voice(s) with Piper before the first line...")
        results = seeder.seed(needed, progress=lambda n, total, c: self.notify(f"seeding {c} ({n}/{total})"))
        for result in results:
            self.trace({"event": "seed", **asdict(result)})
            if result.status == SEED_FAILED:
                self.notify(f"{SEED_FAILED} for {result.character_id}: {result.detail}. Its lines use another engine.")

    def refresh(self, character_ids: list[str]) -> None:
        """Lets engines prepare (again) for these characters' voices, e.g. after a reference changed."""
        voices = [v for v in self.cast.voices() if v.character_id in character_ids]
        wanted = [self.cast.default_engine] + [v.engine for v in voices]  # e.g. a profile that asks for kokoro
        engines = {e.name: e for name in dict.fromkeys(wanted) for e in self.fallback.plan(name).engines}
        for engine in engines.values():
            try:
                engine.prepare(voices)
            except SpeechFailure as exc:
                if exc.down:
                    self.fallback.mark_down(engine.name, exc.reason)
        if self.prefetcher is not None:
            self.prefetcher.requeue()  # their lines now have other cache keys
