"""The voice plugin: speaks every narration and dialogue line through the engine's hooks."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine import ChoiceOption, PlayContext, Problem, SpokenLine, Story, hookimpl
from plugins.voice.casting.cast import VOICE_MAP, Cast, read_voice_map
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.casting.seeder import STYLES_FILE, VoiceSeeder
from plugins.voice.casting.validate import profile_problems
from plugins.voice.casting.watcher import VoicesWatcher
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import SINKS, voice_settings
from plugins.voice.engines.base import Engine
from plugins.voice.engines.piper.styles import read_styles
from plugins.voice.engines.registry import build_engines
from plugins.voice.engines.xtts.engine import preload_torch
from plugins.voice.listening.speech_input import SpeechInput
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.output.playback import Output, Recording
from plugins.voice.output.sinks import NoAudioDevice, NullSink, Sink, open_sink
from plugins.voice.pipeline.cache import AudioCache
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Job, Speaker
from plugins.voice.tools import commands


class VoicePlugin:
    def __init__(self) -> None:
        self.speaker: Speaker | None = None
        self.watcher: VoicesWatcher | None = None
        self.jobs: dict[str, Job] = {}
        self.notify: Any = print
        self.speech: SpeechInput | None = None
        self.engines: list[Engine] = []

    @hookimpl
    def engine_add_play_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--record", metavar="FILE.wav", type=Path, help="record everything the player hears")
        parser.add_argument("--sink", choices=SINKS, help="where sound goes (default from [voice] sink)")
        parser.add_argument("--speech-input", action="store_true",
                            help="say your choices aloud (microphone, Faster-Whisper; extra [stt])")
        parser.add_argument("--speech-input-files", metavar="A.wav,B.wav", type=_paths,
                            help="recorded spoken answers, one WAV per answer, used in order (implies --speech-input)")

    @hookimpl
    def engine_register_commands(self, subparsers: Any) -> None:
        commands.register(subparsers)

    @hookimpl
    def engine_validate(self, story: Story, config: dict[str, Any]) -> list[Problem]:
        settings = voice_settings(config)
        problems = []
        try:
            voice_map = read_voice_map(settings.voices_dir)
        except VoiceError as exc:
            problems.append(Problem(settings.voices_dir / VOICE_MAP, 1, str(exc)))
            voice_map = {}
        try:
            read_styles(settings.voices_dir / STYLES_FILE)
        except VoiceError as exc:
            problems.append(Problem(settings.voices_dir / STYLES_FILE, 1, str(exc)))
        cast = Cast(story, settings.voices_dir, settings.engine, voice_map, ReferenceStore(settings.checked_dir))
        return problems + profile_problems(story, cast, settings)

    @hookimpl
    def engine_story_loaded(self, context: PlayContext) -> None:
        settings = voice_settings(dict(context.config))
        notify = context.notify
        voice_map = self._load(lambda: read_voice_map(settings.voices_dir), {}, notify, "Voices come from the profiles.")
        styles = self._load(lambda: read_styles(settings.voices_dir / STYLES_FILE), {}, notify, "Piper uses defaults.")
        cast = Cast(context.story, settings.voices_dir, settings.engine, voice_map, ReferenceStore(settings.checked_dir))
        engines = build_engines(settings, notify, styles)
        if engines["xtts"].missing() is None:
            preload_torch()  # before any of our threads exist (see preload_torch)
        self.engines = list(engines.values())
        fallback = Fallback(engines, settings.fallback, notify, settings.reprobe_seconds)
        record = context.options.get("record")
        recording = Recording(record, settings.output_rate, settings.line_gap) if record else None
        sink: Sink
        try:
            sink = open_sink(context.options.get("sink") or settings.sink, settings.output_rate)
        except NoAudioDevice as exc:
            notify(f"No audio device ({exc}); the story goes on as text.")
            sink = NullSink()
        output = Output(sink, settings.output_rate, settings.loudness_dbfs, notify, recording)
        seeder = VoiceSeeder(context.story, settings.voices_dir, settings.piper) if settings.auto_seed else None
        depth = settings.prefetch.depth if settings.prefetch.enabled else 0
        self.speaker = Speaker(cast, fallback, AudioCache(settings.cache), output, context.trace, notify, seeder,
                               depth, settings.prefetch.workers)
        self.jobs = {}
        self.notify = notify
        self.watcher = VoicesWatcher(settings.voices_dir, self._voices_changed)
        self.watcher.start()
        files = context.options.get("speech_input_files")
        if files or context.options.get("speech_input") or settings.speech_input.enabled:
            self.speech = SpeechInput(Transcriber(settings.speech_input), notify, files, context.trace)

    @staticmethod
    def _load(read: Any, default: Any, notify: Any, consequence: str) -> Any:
        try:
            return read()
        except VoiceError as exc:
            notify(f"{exc} {consequence}")
            return default

    def _voices_changed(self, path: Path) -> None:
        """A reference WAV or voice_map.json changed while the game runs (watcher thread)."""
        speaker = self.speaker
        if speaker is None:
            return
        cast = speaker.cast
        if path.name == VOICE_MAP:
            try:
                cast.set_voice_map(read_voice_map(path.parent) if path.exists() else {})
            except VoiceError as exc:
                self.notify(f"{exc} The previous voice map stays.")
                return
            self.notify(f"{VOICE_MAP} reloaded.")
            speaker.refresh(cast.order)
            return
        before = cast.store.get(path)
        users = cast.reference_changed(path, self.notify)
        after = cast.store.get(path)
        if users and after != before:
            if after is not None:
                names = ", ".join(cast.story.characters[c].display_name for c in users)
                self.notify(f"New voice for {names} from {path.name}.")
            speaker.refresh(users)

    def _say(self, line: SpokenLine) -> None:
        if self.speaker is not None:
            self.jobs[line.line_id] = self.speaker.say(line)

    @hookimpl
    def engine_upcoming_lines(self, lines: Sequence[SpokenLine]) -> None:
        if self.speaker is not None:
            self.speaker.prefetch(list(lines))

    @hookimpl
    def engine_narration(self, line: SpokenLine) -> None:
        self._say(line)

    @hookimpl
    def engine_dialogue(self, line: SpokenLine) -> None:
        self._say(line)

    @hookimpl
    def engine_line_delivery(self, line: SpokenLine) -> Any:
        job = self.jobs.get(line.line_id)
        return job.done if job else None

    @hookimpl
    def engine_line_skipped(self, line: SpokenLine) -> None:
        job = self.jobs.get(line.line_id)
        if self.speaker is not None and job is not None:
            self.speaker.skip(job)

    @hookimpl
    def engine_answer_sources(self, options: Sequence[ChoiceOption]) -> Any:
        return self.speech.source() if self.speech is not None else None

    @hookimpl
    def engine_story_ended(self, ending: str | None, reason: str) -> None:
        if self.speech is not None:
            self.speech.close()
            self.speech = None
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.speaker is not None:
            self.speaker.close(drain=reason == "ending")
            self.speaker = None
        for engine in self.engines:
            engine.close()
        self.engines = []


def _paths(text: str) -> list[Path]:
    paths = [Path(part.strip()) for part in text.split(",") if part.strip()]
    if not paths:
        raise argparse.ArgumentTypeError("give WAV files separated by commas, e.g. one.wav,two.wav")
    return paths


plugin = VoicePlugin()
