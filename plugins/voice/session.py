"""One game's voice: everything the voice plugin runs while a story plays, built by one factory.

Threads. Each has a name, one owner that starts it, a stop signal, and a join in `close()`:
- the runner's thread (the engine's) calls the hooks, hence every public method here, and
  `Speaker.say/prefetch/skip`; nothing slow happens on it (lines are queued, not resolved; a
  line's recorded take is looked up by file names and sizes: store/takes.py);
- `voice-speaker` (owned by Speaker) speaks queued lines one by one: the voice pack (if any),
  Fallback.attempt, the cache, Output, Prefetcher.adopt, Cast.voice_for; seeds and prepares
  engines before the first line (with a pack: at its first miss);
- `voice-prefetch-N` (Prefetcher) makes upcoming lines into the cache: Fallback.attempt, the cache;
  when idle, the quality gate's checks and retakes (PlayChecker: Whisper, the speaker model);
- `voice-reprobe` (Fallback) re-probes engines that dropped out;
- `xtts-model` (XttsModel) is the only thread that touches the XTTS model;
- `voice-edge-loop`, `voice-xtts-remote-loop` (NetworkLoop, owned by those engines, started at their first
  request, joined by their `close()`) run network requests, so a stalled one can be cancelled; their
  loop's default executor (`asyncio_N`, asyncio's own) resolves host names and is shut down with the loop;
- `voices-watch` (VoicesWatcher) settles a burst of file events, then calls `voices_changed`: Cast, then
  Speaker.refresh; the watchdog observer and its inotify reader under it are the library's (`Thread-N`),
  stopped and joined by VoicesWatcher.close;
- `whisper-load`, `speech-file`, `microphone` (SpeechInput) transcribe answers into queues; Faster-Whisper's
  progress bar may start `tqdm_monitor` (tqdm's, a daemon that ends when no bar is left).
Who waits on whom: the runner waits on a line's `done` event and on answers; the speaker waits
on the sink, on a prefetch task's chunks (Task.follow) and on XTTS's output queue; prefetch
waits on the Gate and on XTTS's output queue. Every wait for an engine's chunk is bounded by the
reader's Budget ([voice.stall], pipeline/patience.py): past it the engine is given up for the line.
Nobody waits on the runner, the XTTS owner waits on nobody, and no lock is held across a `yield`
or any of these waits. torch is imported on the runner's thread before any of these threads starts
(preload_torch), and so is resemblyzer when the gate is on (SpeakerModel.preload).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import PlayContext, SpokenLine
from plugins.voice.casting.assembly import assemble
from plugins.voice.casting.cast import VOICE_MAP, Cast, read_voice_map
from plugins.voice.casting.watcher import VoicesWatcher
from plugins.voice.core.errors import NoAudioDevice, VoiceError
from plugins.voice.core.settings import VoiceSettings, voice_settings
from plugins.voice.engines.base import Engine, EngineEvent
from plugins.voice.engines.xtts.engine import preload_torch
from plugins.voice.listening.speech_input import SpeechInput
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.output.playback import Output, Recording
from plugins.voice.output.sinks import NullSink, Sink, open_sink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Job, Speaker
from plugins.voice.quality.gate import QualityGate
from plugins.voice.quality.play import PlayChecker
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.quality.speakers import SpeakerModel
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.pack import Pack
from plugins.voice.store.takes import TAKES, Takes


class VoiceSession:
    def __init__(self, cast: Cast, engines: list[Engine], speaker: Speaker, speech: SpeechInput | None,
                 notify: Callable[[str], None], settings: VoiceSettings) -> None:
        self.cast = cast
        self.engines = engines
        self.speaker = speaker
        self.speech = speech
        self.notify = notify
        self.jobs: dict[str, Job] = {}
        self.watcher = VoicesWatcher(settings.voices_dir, self.voices_changed)

    @classmethod
    def start(cls, context: PlayContext) -> VoiceSession:
        """The one factory: parses the settings once, builds every part, then starts the threads."""
        settings = voice_settings(context.config)
        notify = context.notify
        speech = None
        files = context.options.get("speech_input_files")
        if files or context.options.get("speech_input") or settings.speech_input.enabled:
            speech = SpeechInput(Transcriber(settings.speech_input), notify, files, context.trace)  # may refuse
        voices = assemble(context.story, settings)
        for unreadable in voices.unreadable:
            notify(f"{unreadable.message} {unreadable.consequence}")
        cast = voices.cast

        def told(event: EngineEvent) -> None:
            context.trace({"event": "engine", "engine": event.engine, "kind": event.kind, "text": event.text})
            notify(f"{event.engine}: {event.text}")

        engines = voices.engines(told)
        if engines["xtts"].missing() is None:
            preload_torch()  # before any of our threads exist (see preload_torch)
        seeder = voices if settings.auto_seed else None
        depth = settings.prefetch.depth if settings.prefetch.enabled else 0
        cache = AudioCache(settings.cache)
        checker = _checker(settings, depth, cast, cache, speech, context) if settings.quality.play else None
        speaker = Speaker(cast, Fallback(engines, settings.fallback, notify, settings.reprobe_seconds),
                          cache, _output(settings, context.options, notify), context.trace, notify,
                          seeder, depth, settings.prefetch.workers, _pack(settings, context, notify), checker,
                          settings.when_slow, settings.stall, Takes(context.story.root / TAKES))
        session = cls(cast, list(engines.values()), speaker, speech, notify, settings)
        speaker.start()
        if speech is not None:
            speech.start()
        try:
            session.watcher.start()
        except OSError as exc:  # e.g. voices/ cannot be created, or no inotify watch is left
            notify(f"{settings.voices_dir} cannot be watched ({exc.strerror or exc}); voice changes need a restart.")
        return session

    def say(self, line: SpokenLine) -> None:
        self.jobs[line.line_id] = self.speaker.say(line)

    def prefetch(self, lines: list[SpokenLine]) -> None:
        self.speaker.prefetch(lines)

    def delivery(self, line: SpokenLine) -> Any:
        job = self.jobs.get(line.line_id)
        return job.done if job else None

    def skip(self, line: SpokenLine) -> None:
        job = self.jobs.get(line.line_id)
        if job is not None:
            self.speaker.skip(job)

    def answer_source(self) -> Any:
        return self.speech.source() if self.speech is not None else None

    def voices_changed(self, path: Path) -> None:
        """A reference WAV or voice_map.json changed while the game runs (watcher thread)."""
        if path.name == VOICE_MAP:
            try:
                self.cast.set_voice_map(read_voice_map(path.parent) if path.exists() else {})
            except VoiceError as exc:
                self.notify(f"{exc} The previous voice map stays.")
                return
            self.notify(f"{VOICE_MAP} reloaded.")
            self.speaker.refresh(self.cast.order)
            return
        changed = self.cast.reference_changed(path, self.notify)
        if changed.users and changed.new_voice:
            names = ", ".join(self.cast.story.characters[c].display_name for c in changed.users)
            self.notify(f"New voice for {names} from {path.name}.")
        if changed.users and (changed.new_voice or changed.removed):
            self.speaker.refresh(changed.users)

    def close(self, drain: bool) -> None:
        """At the end of the game (runner's thread): stops and joins every thread, in dependency order."""
        if self.speech is not None:
            self.speech.close()
        self.watcher.stop()
        self.speaker.close(drain=drain)
        for engine in self.engines:
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


def _pack(settings: VoiceSettings, context: PlayContext, notify: Callable[[str], None]) -> Pack | None:
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


def _output(settings: VoiceSettings, options: Any, notify: Callable[[str], None]) -> Output:
    record = options.get("record")
    recording = Recording(record, settings.output_rate, settings.line_gap) if record else None
    sink: Sink
    try:
        sink = open_sink(options.get("sink") or settings.sink, settings.output_rate)
    except NoAudioDevice as exc:
        notify(f"No audio device ({exc}); the story goes on as text.")
        sink = NullSink()
    return Output(sink, settings.output_rate, settings.loudness_dbfs, notify, recording)
