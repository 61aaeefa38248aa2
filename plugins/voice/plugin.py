"""The voice plugin: speaks every narration and dialogue line through the engine's hooks."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine import ChoiceOption, Config, PlayContext, Problem, SpokenLine, Story, hookimpl
from plugins.voice.casting.assembly import assemble
from plugins.voice.casting.validate import direction_problems, profile_problems
from plugins.voice.core.settings import SINKS, voice_settings
from plugins.voice.render import commands as render_commands
from plugins.voice.served import ServedVoices
from plugins.voice.session import VoiceSession
from plugins.voice.store.takes import TAKES, Takes
from plugins.voice.tools import bridge, cache, models, say, script, voices
from plugins.voice.tools.script import take_problems


class VoicePlugin:
    """The hooks. All game state lives in one VoiceSession (session.py says who runs what on which thread)."""

    def __init__(self) -> None:
        self.session: VoiceSession | None = None

    @hookimpl
    def engine_add_play_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--record", metavar="FILE.wav", type=Path, help="record everything the player hears")
        parser.add_argument("--sink", choices=SINKS, help="where sound goes (default from [voice] sink)")
        parser.add_argument("--speech-input", action="store_true",
                            help="say your choices aloud (microphone, Faster-Whisper; extra [stt])")
        parser.add_argument("--speech-input-files", metavar="A.wav,B.wav", type=_paths,
                            help="recorded spoken answers, one WAV per answer, used in order (implies --speech-input)")
        self.engine_add_serve_options(parser)

    @hookimpl
    def engine_add_serve_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--pack", metavar="DIR", type=Path,
                            help="play lines from this voice pack (engine render) when it has them")

    @hookimpl
    def engine_register_commands(self, subparsers: Any) -> None:
        for command in (say, models, voices, bridge, cache):
            command.register(subparsers)
        script.register(subparsers, render_commands.register(subparsers))

    @hookimpl
    def engine_validate(self, story: Story, config: Config) -> list[Problem]:
        settings = voice_settings(config)
        voices = assemble(story, settings)
        problems = [Problem(unreadable.path, 1, unreadable.message) for unreadable in voices.unreadable]
        return (problems + profile_problems(story, voices.cast, settings)
                + direction_problems(story, voices.cast.directions) + take_problems(story, Takes(story.root / TAKES)))

    @hookimpl
    def engine_story_loaded(self, context: PlayContext) -> None:
        self.session = VoiceSession.start(context)

    @hookimpl
    def engine_serve_voices(self, context: PlayContext) -> Any:
        return ServedVoices.start(context)

    @hookimpl
    def engine_upcoming_lines(self, lines: Sequence[SpokenLine]) -> None:
        if self.session is not None:
            self.session.prefetch(list(lines))

    @hookimpl
    def engine_narration(self, line: SpokenLine) -> None:
        if self.session is not None:
            self.session.say(line)

    @hookimpl
    def engine_dialogue(self, line: SpokenLine) -> None:
        if self.session is not None:
            self.session.say(line)

    @hookimpl
    def engine_line_delivery(self, line: SpokenLine) -> Any:
        return self.session.delivery(line) if self.session is not None else None

    @hookimpl
    def engine_line_skipped(self, line: SpokenLine) -> None:
        if self.session is not None:
            self.session.skip(line)

    @hookimpl
    def engine_answer_sources(self, options: Sequence[ChoiceOption]) -> Any:
        return self.session.answer_source() if self.session is not None else None

    @hookimpl
    def engine_story_ended(self, ending: str | None, reason: str) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close(drain=reason == "ending", why=reason)


def _paths(text: str) -> list[Path]:
    paths = [Path(part.strip()) for part in text.split(",") if part.strip()]
    if not paths:
        raise argparse.ArgumentTypeError("give WAV files separated by commas, e.g. one.wav,two.wav")
    return paths


plugin = VoicePlugin()
