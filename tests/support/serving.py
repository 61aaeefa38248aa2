"""The browser game in tests: `engine serve` in a child process, a player that follows the page's protocol,
the page in headless Chromium and axe-core."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.config import Config, EngineSettings
from engine.context import PlayContext
from engine.core.model import Story
from engine.formats.registry import known_formats
from engine.loader import load_story
from engine.plugins import make_plugin_manager
from engine.serve.players import Players, Shelf
from tests.support.common import NODE_TOOLS, SUPPORT, TOMB, wait_until
from tests.support.voice import write_config

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = NODE_TOOLS / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PIPER_ONLY = 'fallback = ["piper"]\nengine = "piper"\n'


def served_story(folder: Path = TOMB) -> Story:
    """A story (the tomb) loaded as `engine serve` loads it, with the formats plugins add."""
    return load_story(folder, known_formats(make_plugin_manager(Config())))


def players_for(story: Story, shelf: Shelf, max_players: int, per_player: int = 3, *plugins: Any) -> Players:
    """A server's table of games, in process: no voice plugin, these `plugins` (their hooks fire per game)."""
    pm = make_plugin_manager(Config({"plugins": {"disabled": ["voice"]}}))
    for plugin in plugins:
        pm.register(plugin)
    return Players(PlayContext(story, Config()), pm.hook, EngineSettings(), shelf, max_players, 60.0, per_player)


class Server:
    """`engine serve STORY --port 0` in a child process; `url` is the address it printed."""

    def __init__(self, story: Path, config: Path, home: Path, *extra: str) -> None:
        env = dict(os.environ, XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"),
                   XDG_CONFIG_HOME=str(home / "config"), NO_COLOR="1",
                   PYTHONPATH=os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", str(story), "--port", "0", "--config", str(config), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put), daemon=True),
                        threading.Thread(target=self._read, args=(self.process.stderr, self.errors.append), daemon=True)]
        for reader in self.readers:
            reader.start()
        first = self.lines.get(timeout=120)
        assert first.startswith("Serving"), first + "".join(self.errors)
        self.url = first.split(" at ", 1)[1].split(" ", 1)[0]
        self.base = self.url.split("?", 1)[0]

    def printed(self) -> list[str]:
        """The lines the server printed after its first, so far."""
        found = []
        while not self.lines.empty():
            found.append(self.lines.get_nowait())
        return found

    @staticmethod
    def _read(stream: Any, put: Any) -> None:
        for line in stream:
            put(line)

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client with its own player cookie (it fetched the page once)."""
        client = httpx.Client(base_url=self.base, timeout=60, **options)
        assert client.get("/").status_code == 200
        return client

    def status(self) -> dict[str, Any]:
        return dict(httpx.get(self.base + "api/status", timeout=30).json())

    def stop(self) -> str:
        """Ctrl+C, as a person stops it; returns what it printed after its first line."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=60) == 0, "".join(self.errors)
        for reader in self.readers:
            reader.join(timeout=10)
        said = []
        while not self.lines.empty():
            said.append(self.lines.get())
        assert "Traceback" not in "".join(self.errors), "".join(self.errors)
        return "".join(said)


def serve_config(tmp_path: Path, voice: str = PIPER_ONLY, engine: str = "") -> Path:
    return write_config(tmp_path, voice, engine)


def until(page: Any, expression: str, seconds: float = 60) -> None:
    """Polls a JavaScript expression until it is true (Playwright's wait_for_function evals, which the page's
    Content-Security-Policy forbids, as it should); fails the test when `seconds` pass first."""
    wait_until(lambda: page.evaluate(expression), seconds, expression)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core (npm, installed by `make test`) run in the page: every rule, WCAG and best practice."""
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: run 'make test' (it installs axe-core into .venv/axe)")
    until(page, "document.getAnimations().length === 0")  # a line fading in is not low contrast
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document).then(result => result.violations.map(v => "
                          "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)})))")
    return list(found)


def story_lines(story_dir: Path, choices: list[int]) -> tuple[list[str], str]:
    """What the engine itself plays for these choices: every line's text, and the ending's title."""
    from engine.formats import ChoiceStep, EndStep, LineStep, open_playthrough

    game = open_playthrough(served_story(story_dir))
    texts, answers = [], list(choices)
    while True:
        step = game.next()
        if isinstance(step, LineStep):
            texts.append(step.line.text)
        elif isinstance(step, ChoiceStep):
            game.choose(answers.pop(0) - 1)
        elif isinstance(step, EndStep):
            return texts, step.title


class Player:
    """One browser tab, played with the keyboard only; the page reports what its audio did (voiceEvents)."""

    def __init__(self, page: Any, url: str, *scripts: str, audio: str = "/lines/") -> None:
        """`scripts` run in the page before its own (after the one that asks it to record voiceEvents); `audio`
        marks the addresses of lines' audio (engine serve's /lines/, an exported game's /audio/)."""
        self.page = page
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url) if audio in request.url else None)
        for script in ("window.voiceEvents = [];", *scripts):
            page.add_init_script(script)
        page.goto(url)
        until(page, "document.activeElement && document.activeElement.tagName === 'BUTTON'")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def focused(self) -> str:
        return str(self.page.evaluate("document.activeElement.textContent"))

    def wait_choices(self) -> list[str]:
        self.page.wait_for_selector("#choices-area:not([hidden])", timeout=120_000)
        return [text.split(". ", 1)[1] for text in self.page.locator("#choices button").all_inner_texts()]

    def wait_ending(self) -> str:
        self.page.wait_for_selector("#ending-area:not([hidden])", timeout=120_000)
        return str(self.page.locator(".ending-title").inner_text()).removeprefix("The end: ")

    def texts(self) -> list[str]:
        return [str(text) for text in self.page.locator(".line .text").all_inner_texts()]

    def events(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.voiceEvents"))

    def ended_lines(self) -> list[int]:
        return [event["line"] for event in self.events() if event["event"] == "ended"]
