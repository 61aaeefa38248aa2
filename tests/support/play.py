"""Plays a story in-process with the real runner and a scripted terminal."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.config import Config, engine_settings
from engine.context import PlayContext
from engine.formats.scenes.playthrough import GameState, ScenePlaythrough
from engine.loader import load_story
from engine.plugins import make_plugin_manager
from engine.runner import Driver, Runner
from engine.terminal import Terminal


def play(story_dir: Path, answers: list[int] | None, *plugins: Any, pace: str = "instant", typed: bytes = b"",
         state: GameState | None = None, stdin: int | None = None) -> tuple[str, str]:
    """Returns (ending title, printed text). `typed` is what the player types (during pauses, and at
    choices when `answers` is None); `stdin` is a file descriptor to read instead (it is closed)."""
    story = load_story(story_dir)
    pm = make_plugin_manager({"plugins": {"disabled": ["voice"]}})
    for plugin in plugins:
        pm.register(plugin)
    if stdin is None:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, typed)
        os.close(write_fd)
    else:
        read_fd = stdin
    out = io.StringIO()
    terminal = Terminal(Console(file=out, width=200, highlight=False), answers=answers, fd=read_fd)
    settings = engine_settings({"engine": {"min_pause": 0.01, "words_per_minute": 100000}})
    driver = Driver(PlayContext(story, Config(), game="played"), pm.hook, settings, pace,
                    ScenePlaythrough(story, state or GameState(story.start)))
    try:
        driver.start()
        return Runner(driver, terminal).run(), out.getvalue()
    finally:
        os.close(read_fd)
