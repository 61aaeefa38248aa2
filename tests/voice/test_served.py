"""The voice plugin's side of `engine serve` (plugins/voice/served.py) with real Piper: each game's lines
in order in their own LineAudio, games apart over one Studio, a closed game's queued lines dropped."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from engine import PlayContext, SpokenLine
from engine.config import load_config
from engine.formats.registry import known_formats
from engine.loader import load_story
from engine.plugins import make_plugin_manager
from plugins.voice.served import ServedVoices
from tests.support.common import TOMB
from tests.support.voice import write_config

PIPER = 'engine = "piper"\nfallback = ["piper"]\n'


def line(n: int, text: str) -> SpokenLine:
    return SpokenLine(f"l{n}", "dunes", "narrator", "Narrator", text, True, "en")


def voice_threads(apart_from: set[threading.Thread] | None = None) -> list[str]:
    """Our voice threads, apart from those other tests of this worker left (`apart_from`)."""
    return [thread.name for thread in threading.enumerate()
            if thread.name.startswith("voice-") and thread not in (apart_from or set())]


def test_each_game_gets_its_own_lines_and_a_closed_game_drops_what_is_queued(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, PIPER))
    story = load_story(TOMB, known_formats(make_plugin_manager(config)))
    notices: list[str] = []
    others = set(threading.enumerate())
    served = ServedVoices.start(PlayContext(story, config, {}, lambda record: None, notices.append))
    before = voice_threads()
    try:
        game = PlayContext(story, config, {}, lambda record: None, notices.append, streams_audio=True)
        first, second = served.open(replace(game, game="a")), served.open(replace(game, game="b"))
        short = first.say(line(1, "The door is open."))
        longer = second.say(line(2, "The door is open, and the long hall beyond it smells of dust and old lamps."))
        heard = {}
        for name, audio in (("short", short), ("longer", longer)):
            data, done = b"", False
            while not done:
                more, done = audio.read(len(data), 60)
                data += more
            heard[name] = len(data) / 2 / audio.rate
        assert 0.5 < heard["short"] < heard["longer"]  # each game's own line, whole
        assert len(voice_threads()) == len(before) + 4  # a speaker and a prefetch thread per game
        queued = [first.say(line(10 + n, f"Line {n} of a scene nobody will hear.")) for n in range(8)]
        first.close()  # the tab closed: the queue is dropped, not spoken
        assert all(audio.read(0, 0)[1] for audio in queued)  # every audio ends (nobody waits on one for ever)
        assert queued[-1].read(0, 0) == (b"", True)
        assert len(voice_threads()) == len(before) + 2
        assert served.games == [second]
    finally:
        served.close()
    assert voice_threads(others) == [] and not any("Traceback" in notice for notice in notices)
