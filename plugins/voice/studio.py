"""What every game of a story shares, built once from the settings: the cast, the engines and their
fallback, the audio cache, the voice pack, the recorded takes, the quality gate and the voices/ watcher.

session.py uses one for the game in the terminal; served.py one for every game of `engine serve`, where
each game has its own Speaker over these shared parts (one XTTS owner thread serves them all).
The studio owns the fallback's re-probe thread and the watcher's, and joins them in close().
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import PlayContext
from plugins.voice.casting.assembly import StoryVoices, assemble
from plugins.voice.casting.cast import VOICE_MAP, Cast, read_voice_map
from plugins.voice.casting.watcher import VoicesWatcher
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.engines.base import Engine, EngineEvent
from plugins.voice.listening.speech_input import SpeechInput
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.output.playback import Output
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.line_play import Job
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.pipeline.tasks import Gate
from plugins.voice.quality.gate import QualityGate
from plugins.voice.quality.play import PlayChecker
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.quality.speakers import SpeakerModel
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.pack import Pack
from plugins.voice.store.takes import TAKES, Takes

Notify = Callable[[str], None]


class Studio:
    def __init__(self, settings: VoiceSettings, voices: StoryVoices, engines: dict[str, Engine], fallback: Fallback,
                 cache: AudioCache, pack: Pack | None, takes: Takes, checker: PlayChecker | None,
                 notify: Notify) -> None:
        self.settings = settings
        self.voices = voices
        self.cast: Cast = voices.cast
        self.engines = engines
        self.fallback = fallback
        self.cache = cache
        self.pack = pack
        self.takes = takes
        self.checker = checker
        self.notify = notify
        self.speakers: list[Speaker] = []  # whose voices change when voices/ does
        self.watcher = VoicesWatcher(settings.voices_dir, self.voices_changed)

    @classmethod
    def build(cls, context: PlayContext, settings: VoiceSettings, speech: SpeechInput | None = None) -> Studio:
        """Builds every shared part from the game's settings (parsed once, by its caller); starts no thread
        (start() does)."""
        notify = context.notify
        voices = assemble(context.story, settings)
        for unreadable in voices.unreadable:
            notify(f"{unreadable.message} {unreadable.consequence}")

        def told(event: EngineEvent) -> None:
            context.trace({"event": "engine", "engine": event.engine, "kind": event.kind, "text": event.text})
            notify(f"{event.engine}: {event.text}")

        engines = voices.engines(told)  # torch, when XTTS may speak, imported before any of our threads exist
        cache = AudioCache(settings.cache)
        depth = settings.prefetch.depth if settings.prefetch.enabled else 0
        checker = _checker(settings, depth, voices.cast, cache, speech, context) if settings.quality.play else None
        fallback = Fallback(engines, settings.fallback, notify, settings.reprobe_seconds)
        return cls(settings, voices, engines, fallback, cache, _pack(settings, context, notify),
                   Takes(context.story.root / TAKES), checker, notify)

    def speaker(self, output: Output, trace: Callable[[dict[str, Any]], None], notify: Notify,
                gate: Gate | None = None, line_ended: Callable[[Job], None] | None = None) -> Speaker:
        """A game's speaker over the shared parts (not started); the studio refreshes it when voices change."""
        settings = self.settings
        depth = settings.prefetch.depth if settings.prefetch.enabled else 0
        speaker = Speaker(self.cast, self.fallback, self.cache, output, trace, notify,
                          self.voices if settings.auto_seed else None, depth, settings.prefetch.workers, self.pack,
                          self.checker, settings.when_slow, settings.stall, self.takes, gate, line_ended,
                          owns_fallback=False)
        self.speakers.append(speaker)
        return speaker

    def forget(self, speaker: Speaker) -> None:
        """A game ended: its speaker (closed by its owner) no longer hears voice changes."""
        if speaker in self.speakers:
            self.speakers.remove(speaker)

    def start(self) -> None:
        try:
            self.watcher.start()
        except OSError as exc:  # e.g. voices/ cannot be created, or no inotify watch is left
            self.notify(f"{self.settings.voices_dir} cannot be watched ({exc.strerror or exc}); voice changes need "
                        "a restart.")

    def voices_changed(self, path: Path) -> None:
        """A reference WAV or voice_map.json changed (watcher's thread)."""
        if path.name == VOICE_MAP:
            try:
                self.cast.set_voice_map(read_voice_map(path.parent) if path.exists() else {})
            except VoiceError as exc:
                self.notify(f"{exc} The previous voice map stays.")
                return
            self.notify(f"{VOICE_MAP} reloaded.")
            self._refresh(self.cast.order)
            return
        changed = self.cast.reference_changed(path, self.notify)
        if changed.users and changed.new_voice:
            names = ", ".join(self.cast.story.characters[c].display_name for c in changed.users)
            self.notify(f"New voice for {names} from {path.name}.")
        if changed.users and (changed.new_voice or changed.removed):
            self._refresh(changed.users)

    def _refresh(self, character_ids: list[str]) -> None:
        for speaker in list(self.speakers):
            speaker.refresh(character_ids)

    def stop_watching(self) -> None:
        """First at the end: no voice change reaches a speaker that is closing."""
        self.watcher.stop()

    def close(self) -> None:
        """After every speaker is closed: the re-probe thread, then each engine (XTTS's owner thread)."""
        self.watcher.stop()
        self.fallback.close()
        for engine in self.engines.values():
            engine.close()


def _checker(settings: VoiceSettings, depth: int, cast: Cast, cache: AudioCache, speech: SpeechInput | None,
             context: PlayContext) -> PlayChecker | None:
    """[voice.quality] play: the gate, heard in the prefetch threads; one notice if it cannot run."""
    if depth == 0:
        context.notify("The quality gate runs while lines are prefetched; with [voice.prefetch] off, lines are "
                       "not checked.")
        return None
    gate = QualityGate(settings.quality, speech.transcriber if speech else Transcriber(settings.speech_input))
    missing = gate.missing()
    if missing:
        context.notify(f"{missing[0].upper()}{missing[1:]}; lines are not checked.")
        return None
    SpeakerModel.preload()  # imports torch here, before the game's threads start
    book = ReferenceBook(gate.speakers, lambda voice: cast.seed_text(voice.character_id))
    return PlayChecker(gate, book, cast, cache, context.trace)


def _pack(settings: VoiceSettings, context: PlayContext, notify: Notify) -> Pack | None:
    """--pack DIR, else [voice] pack (relative to config.toml); a pack that cannot be read is one notice."""
    given = context.options.get("pack")
    folder = Path(given) if given else (context.config.folder / settings.pack if settings.pack else None)
    if folder is None:
        return None
    try:
        return Pack.open(folder)
    except VoiceError as exc:
        notify(f"{exc} Lines are spoken live.")
        return None
