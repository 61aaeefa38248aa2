"""The voice of every game of `engine serve`: one Studio (engines, cache, pack, takes, gate) for the
server (built at engine_serve_started), and per browser game (a PlayContext with `streams_audio`) a
GameVoice: its own Speaker whose Output writes each line into a LineAudio, which the plugin returns from
engine_line_delivery and the server streams to the page.

Threads: each GameVoice owns its `voice-speaker` and `voice-prefetch-N` threads (started in open(),
joined by its close(), at the game's engine_story_ended); the Studio owns the re-probe, watcher and engine
threads (XTTS's one owner serves every game), joined by ServedVoices.close() after every game's. One Gate
for all speakers: a line any player is waiting for goes before every game's prefetch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from engine import PlayContext, SpokenLine
from plugins.voice.core.settings import voice_settings
from plugins.voice.output.playback import Output
from plugins.voice.output.streams import LineAudio, LineSink
from plugins.voice.pipeline.line_play import Job
from plugins.voice.pipeline.tasks import Gate
from plugins.voice.studio import Studio


class GameVoice:
    """One browser game's lines: said in order, each one's audio kept in a LineAudio as it is made."""

    def __init__(self, studio: Studio, gate: Gate, context: PlayContext, forget: Callable[[GameVoice], None]) -> None:
        self.studio = studio
        self.forget = forget
        self.closed = False
        self.rate = studio.settings.output_rate
        self.lock = threading.Lock()  # sounds: the server's threads add, the speaker's thread reads and ends
        self.sounds: dict[int, tuple[Job, LineAudio]] = {}  # id(job) -> its audio, until the line ends
        self.said: dict[str, tuple[Job, LineAudio]] = {}  # line id -> its latest, until the line ends (skip)
        self.last: tuple[str, LineAudio] | None = None  # the line said last, for engine_line_delivery
        output = Output(LineSink(self._current), self.rate, studio.settings.loudness_dbfs, context.notify)
        self.speaker = studio.speaker(output, context.trace, context.notify, gate, self._ended)
        self.speaker.tell_player = context.tell_player
        self.speaker.start()

    def say(self, line: SpokenLine) -> LineAudio:
        """Queues the line; its audio grows as the speaker makes it (ends empty when it is not spoken)."""
        audio = LineAudio(self.rate)
        with self.lock:  # the speaker's thread cannot look the job up before it is here
            if self.closed:  # a move that raced the game's closing: nothing more is made
                audio.finish()
                return audio
            job = self.speaker.say(line)
            self.sounds[id(job)] = self.said[line.line_id] = (job, audio)
            self.last = (line.line_id, audio)
        return audio

    def delivery(self, line: SpokenLine) -> LineAudio | None:
        """The audio of the line just said (engine_line_delivery): the server streams it to the page."""
        with self.lock:
            last = self.last
        return last[1] if last is not None and last[0] == line.line_id else None

    def read_aloud(self, line: SpokenLine) -> LineAudio:
        return self.say(line)

    def prefetch(self, lines: Sequence[SpokenLine]) -> None:
        self.speaker.prefetch(list(lines))

    def skip(self, line: SpokenLine) -> None:
        """The player moved on: the line is no longer made (its audio ends where it is)."""
        with self.lock:
            entry = self.said.get(line.line_id)
        if entry is not None:
            self.speaker.skip(entry[0])

    def close(self, drain: bool = False, why: str = "closed") -> None:
        """The game ended or its page closed: queued lines are dropped (their records say `why`), the line being
        made is cut; nothing is drained, as no page listens any more."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            left, self.sounds, self.said = list(self.sounds.values()), {}, {}
        for _, audio in left:  # first: whoever streams a line hears its end now, not after the join
            audio.finish()
        self.speaker.close(drain=False, why=why)
        self.studio.forget(self.speaker)
        self.forget(self)

    def _current(self) -> LineAudio | None:
        job = self.speaker.current
        with self.lock:
            entry = self.sounds.get(id(job)) if job is not None else None
        return entry[1] if entry is not None else None

    def _ended(self, job: Job) -> None:
        with self.lock:
            entry = self.sounds.pop(id(job), None)
            if entry is not None and self.said.get(job.line.line_id) is entry:
                del self.said[job.line.line_id]
        if entry is not None:
            entry[1].finish()


class ServedVoices:
    """Every game's voice on one server (engine_serve_started to engine_serve_stopped)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.gate = Gate()
        self.lock = threading.Lock()
        self.games: list[GameVoice] = []

    @classmethod
    def start(cls, context: PlayContext) -> ServedVoices:
        studio = Studio.build(context, voice_settings(context.config))
        studio.start()
        return cls(studio)

    def open(self, context: PlayContext) -> GameVoice:
        game = GameVoice(self.studio, self.gate, context, self._forget)
        with self.lock:
            self.games.append(game)
        return game

    def _forget(self, game: GameVoice) -> None:
        with self.lock:
            if game in self.games:
                self.games.remove(game)

    def close(self) -> None:
        self.studio.stop_watching()
        with self.lock:
            games, self.games = self.games, []
        for game in games:
            game.close()
        self.studio.close()
