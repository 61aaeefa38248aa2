"""The voice plugin: speaks every narration and dialogue line through the engine's hooks."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine import PlayContext, Problem, SpokenLine, Story, hookimpl
from plugins.voice import commands
from plugins.voice.cache import AudioCache
from plugins.voice.cast import VOICE_MAP, Cast, read_voice_map
from plugins.voice.engines.registry import build_engines
from plugins.voice.errors import VoiceError
from plugins.voice.fallback import Fallback
from plugins.voice.playback import Output, Recording
from plugins.voice.settings import SINKS, voice_settings
from plugins.voice.sinks import NoAudioDevice, NullSink, Sink, open_sink
from plugins.voice.speaker import Job, Speaker
from plugins.voice.validate import profile_problems


class VoicePlugin:
    def __init__(self) -> None:
        self.speaker: Speaker | None = None
        self.jobs: dict[str, Job] = {}

    @hookimpl
    def engine_add_play_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--record", metavar="FILE.wav", type=Path, help="record everything the player hears")
        parser.add_argument("--sink", choices=SINKS, help="where sound goes (default from [voice] sink)")

    @hookimpl
    def engine_register_commands(self, subparsers: Any) -> None:
        commands.register(subparsers)

    @hookimpl
    def engine_validate(self, story: Story, config: dict[str, Any]) -> list[Problem]:
        settings = voice_settings(config)
        try:
            voice_map = read_voice_map(settings.voices_dir)
        except VoiceError as exc:
            return [Problem(settings.voices_dir / VOICE_MAP, 1, str(exc))]
        return profile_problems(story, Cast(story, settings.voices_dir, settings.engine, voice_map), settings)

    @hookimpl
    def engine_story_loaded(self, context: PlayContext) -> None:
        settings = voice_settings(dict(context.config))
        try:
            voice_map = read_voice_map(settings.voices_dir)
        except VoiceError as exc:
            context.notify(f"{exc} Voices come from the profiles only.")
            voice_map = {}
        cast = Cast(context.story, settings.voices_dir, settings.engine, voice_map)
        engines = build_engines(settings, context.notify)
        fallback = Fallback(engines, settings.fallback, context.notify, settings.reprobe_seconds)
        record = context.options.get("record")
        recording = Recording(record, settings.output_rate, settings.line_gap) if record else None
        sink_name = context.options.get("sink") or settings.sink
        sink: Sink
        try:
            sink = open_sink(sink_name, settings.output_rate)
        except NoAudioDevice as exc:
            context.notify(f"No audio device ({exc}); the story goes on as text.")
            sink = NullSink()
        output = Output(sink, settings.output_rate, settings.loudness_dbfs, context.notify, recording)
        self.speaker = Speaker(cast, fallback, AudioCache(settings.cache), output, context.trace, context.notify)
        self.jobs = {}

    def _say(self, line: SpokenLine) -> None:
        if self.speaker is not None:
            self.jobs[line.line_id] = self.speaker.say(line)

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
    def engine_story_ended(self, ending: str | None, reason: str) -> None:
        if self.speaker is not None:
            self.speaker.close(drain=reason == "ending")
            self.speaker = None


plugin = VoicePlugin()
