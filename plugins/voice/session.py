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
- `voices-watch` (VoicesWatcher, owned by the Studio) settles a burst of file events, then calls
  `Studio.voices_changed`: Cast, then Speaker.refresh; the watchdog observer and the inotify threads under
  it are the library's (named by watchdog), stopped and joined by VoicesWatcher.close;
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
from typing import Any

from engine import PlayContext, SpokenLine
from plugins.voice.core.errors import NoAudioDevice
from plugins.voice.core.settings import VoiceSettings, voice_settings
from plugins.voice.listening.speech_input import SpeechInput
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.output.playback import Output, Recording
from plugins.voice.output.sinks import NullSink, Sink, open_sink
from plugins.voice.pipeline.speaker import Job, Speaker
from plugins.voice.studio import Studio


class VoiceSession:
    def __init__(self, studio: Studio, speaker: Speaker, speech: SpeechInput | None) -> None:
        self.studio = studio
        self.cast = studio.cast
        self.speaker = speaker
        self.speech = speech
        self.jobs: dict[str, Job] = {}

    @classmethod
    def start(cls, context: PlayContext) -> VoiceSession:
        """The one factory: parses the settings once, builds every part, then starts the threads."""
        settings = voice_settings(context.config)
        notify = context.notify
        speech = None
        files = context.options.get("speech_input_files")
        if files or context.options.get("speech_input") or settings.speech_input.enabled:
            speech = SpeechInput(Transcriber(settings.speech_input), notify, files, context.trace)  # may refuse
        studio = Studio.build(context, settings, speech)
        speaker = studio.speaker(_output(settings, context.options, notify), context.trace, notify)
        session = cls(studio, speaker, speech)
        speaker.start()
        if speech is not None:
            speech.start()
        studio.start()
        return session

    def say(self, line: SpokenLine) -> None:
        self.jobs[line.line_id] = self.speaker.say(line)

    def prefetch(self, lines: list[SpokenLine]) -> None:
        self.speaker.prefetch(lines)

    def delivery(self, line: SpokenLine) -> Any:
        job = self.jobs.get(line.line_id)
        return job.done if job else None

    def read_aloud(self, line: SpokenLine) -> Any:
        self.say(line)
        return self.delivery(line)

    def skip(self, line: SpokenLine) -> None:
        job = self.jobs.get(line.line_id)
        if job is not None:
            self.speaker.skip(job)

    def answer_source(self) -> Any:
        return self.speech.source() if self.speech is not None else None

    def close(self, drain: bool, why: str = "ending") -> None:
        """At the end of the game (runner's thread): stops and joins every thread, in dependency order. Lines
        still queued are spoken (drain) or recorded as dropped, with `why` the game ended."""
        if self.speech is not None:
            self.speech.close()
        self.studio.stop_watching()
        self.speaker.close(drain=drain, why=why)
        self.studio.close()


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
