"""The voice plugin: speaks every narration and dialogue line through the engine's hooks."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine import ChoiceOption, Config, PlayContext, Problem, SpokenLine, Story, hookimpl
from plugins.voice.casting.assembly import assemble
from plugins.voice.casting.validate import direction_problems, profile_problems
from plugins.voice.core.settings import SINKS, voice_settings
from plugins.voice.render import commands as render_commands
from plugins.voice.served import GameVoice, ServedVoices
from plugins.voice.session import VoiceSession
from plugins.voice.store.takes import TAKES, Takes
from plugins.voice.tools import bridge, cache, export, models, say, script, voices
from plugins.voice.tools.script import take_problems


class VoicePlugin:
    """The hooks. Each game's state lives in its own voice, kept by the game's id: a VoiceSession in the terminal
    (session.py says who runs what on which thread), a GameVoice in a browser game (served.py), over the
    server's ServedVoices."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # games: a server's request threads open and end games at once
        self.games: dict[str, VoiceSession | GameVoice] = {}
        self.served: ServedVoices | None = None

    def _voice(self, game: str) -> VoiceSession | GameVoice | None:
        with self.lock:
            return self.games.get(game)

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
    def engine_add_export_options(self, parser: argparse.ArgumentParser) -> None:
        export.add_options(parser)

    @hookimpl
    def engine_export_audio(self, context: PlayContext, folder: Path) -> Any:
        return export.export_audio(context, folder)

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
    def engine_serve_started(self, context: PlayContext) -> None:
        self.served = ServedVoices.start(context)

    @hookimpl
    def engine_serve_stopped(self) -> None:
        served, self.served = self.served, None
        if served is not None:
            served.close()

    @hookimpl
    def engine_story_loaded(self, context: PlayContext) -> None:
        voice: VoiceSession | GameVoice
        if context.streams_audio:
            if self.served is None:
                context.notify("Voices for a browser game come from engine serve; this game is shown as text.")
                return
            voice = self.served.open(context)
        else:
            voice = VoiceSession.start(context)
        with self.lock:
            self.games[context.game] = voice

    @hookimpl
    def engine_upcoming_lines(self, lines: Sequence[SpokenLine], game: str) -> None:
        if voice := self._voice(game):
            voice.prefetch(list(lines))

    @hookimpl
    def engine_narration(self, line: SpokenLine, game: str) -> None:
        if voice := self._voice(game):
            voice.say(line)

    @hookimpl
    def engine_dialogue(self, line: SpokenLine, game: str) -> None:
        if voice := self._voice(game):
            voice.say(line)

    @hookimpl
    def engine_line_delivery(self, line: SpokenLine, game: str) -> Any:
        voice = self._voice(game)
        return voice.delivery(line) if voice is not None else None

    @hookimpl
    def engine_read_aloud(self, line: SpokenLine, game: str) -> Any:
        voice = self._voice(game)
        return voice.read_aloud(line) if voice is not None else None

    @hookimpl
    def engine_line_skipped(self, line: SpokenLine, game: str) -> None:
        if voice := self._voice(game):
            voice.skip(line)

    @hookimpl
    def engine_answer_sources(self, options: Sequence[ChoiceOption], game: str) -> Any:
        voice = self._voice(game)
        return voice.answer_source() if isinstance(voice, VoiceSession) else None

    @hookimpl
    def engine_story_ended(self, ending: str | None, reason: str, game: str) -> None:
        with self.lock:
            voice = self.games.pop(game, None)
        if voice is not None:
            voice.close(drain=reason == "ending", why=reason)


def _paths(text: str) -> list[Path]:
    paths = [Path(part.strip()) for part in text.split(",") if part.strip()]
    if not paths:
        raise argparse.ArgumentTypeError("give WAV files separated by commas, e.g. one.wav,two.wav")
    return paths


plugin = VoicePlugin()
