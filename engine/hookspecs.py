"""Every hook the engine offers, grouped by when it fires.

Plugins implement them with `@engine.hookimpl`. Every hook here is documented and
tested (tests/engine/test_hooks.py checks both). One driver (engine/runner.py) fires the per-game
hooks for every front end that runs on the engine: the terminal (`engine play`) and the browser
(`engine serve`, many games at once); an exported web game runs its story in the page
(engine/export). Each per-game hook receives `game`, the id of the game it is about
(PlayContext.game); a plugin that keeps state per game keys it by that id (an implementation may
leave the argument out). For one game, hooks fire on one thread at a time; a plugin that does slow
work (speech synthesis) hands it to its own threads.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from engine.config import Config
    from engine.context import PlayContext
    from engine.core.errors import Problem
    from engine.core.model import ChoiceOption, Scene, SpokenLine, Story
    from engine.export.audio import ExportedAudio
    from engine.formats import StoryFormat

hookspec = pluggy.HookspecMarker("engine")


class Waitable(Protocol):
    """Anything with `wait(timeout) -> bool` (a threading.Event works)."""

    def wait(self, timeout: float | None = None) -> bool: ...


class AnswerSource(Protocol):
    """Answers to a choice that come from somewhere other than the keyboard (speech, a controller)."""

    label: str  # shown after an answer, e.g. "heard"

    def poll(self, timeout: float) -> str | None:
        """An answer if one arrives within `timeout` seconds, else None."""

    def finished(self) -> bool:
        """True once no more answers will come (e.g. its recorded answers are used up)."""

    def close(self) -> None:
        """Stops listening; called once the choice is made (or the game stops)."""


@runtime_checkable
class LineSound(Protocol):
    """A line's audio for a front end that carries it (a browser): 16-bit mono PCM at `rate`, growing while
    the line is made; `wait` (a Waitable's) is True once it is complete."""

    rate: int

    def read(self, offset: int, timeout: float) -> tuple[bytes, bool]:
        """The bytes after `offset` (waits up to `timeout` for some), and whether the line is complete."""

    def wait(self, timeout: float | None = None) -> bool: ...


# --- command line -------------------------------------------------------------


@hookspec
def engine_register_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Fires once while the CLI is built, before arguments are parsed.

    Receives the `engine` command's subparsers; add subcommands with
    `subparsers.add_parser(...)` and `set_defaults(handler=fn)`, where
    `fn(args, config, pm) -> int` (config: the Config) returns the exit code. Returns nothing.
    """


@hookspec
def engine_add_play_options(parser: argparse.ArgumentParser) -> None:
    """Fires once while the CLI is built; receives the `engine play` parser.

    Add options (e.g. `--record FILE`); their values reach plugins through
    `PlayContext.options`. Returns nothing.
    """


@hookspec
def engine_add_serve_options(parser: argparse.ArgumentParser) -> None:
    """Fires once while the CLI is built; receives the `engine serve` parser.

    Add options a served game needs (the voice plugin's `--pack DIR`); their values reach plugins
    through the server's `PlayContext.options`. Returns nothing.
    """


@hookspec
def engine_add_export_options(parser: argparse.ArgumentParser) -> None:
    """Fires once while the CLI is built; receives the `engine export` parser.

    Add options the export needs (the voice plugin's `--pack DIR`); their values reach plugins
    through the export's `PlayContext.options`. Returns nothing.
    """


# --- story formats ----------------------------------------------------------------


@hookspec
def engine_story_formats() -> Sequence[StoryFormat]:
    """Fires when the CLI loads a story; returns the story formats the plugin adds.

    Each is an engine.formats.StoryFormat: its `name` is what `format = "..."` in story.toml
    picks, `keys` the story.toml keys it reads; it reads the story's content, checks it, opens
    games (Playthrough) and says when two choice points are the same state. A format from an
    installed package comes through the usual entry-point group (`engine.plugins`). Returns
    a list (empty for none); two formats may not share a name.
    """


# --- checking -----------------------------------------------------------------


@hookspec
def engine_validate(story: Story, config: Config) -> list[Problem]:
    """Fires during `engine check` and before `engine play`, after the engine's own checks.

    Receives the loaded story and the Config (`config.table("name")` is a plugin's own
    table; `config.folder` is where relative paths in it start). Returns the
    problems the plugin finds (e.g. a character with no voice); errors make
    `engine check` exit 1 and are shown as notices by `engine play`, which
    goes on (a plugin's problem never stops the story); warnings appear only
    in `engine check`.
    """


# --- serving ------------------------------------------------------------------------


@hookspec
def engine_serve_started(context: PlayContext) -> None:
    """Fires once when `engine serve` starts, after the story is checked and before any game opens.

    Receives the server's PlayContext (story, Config, the command's options, the server's trace, and
    `notify`, which prints on the server's console). A plugin builds here what every served game shares
    (the voice plugin: its engines, cache and pack); each game then starts with engine_story_loaded.
    Returns nothing.
    """


@hookspec
def engine_serve_stopped() -> None:
    """Fires once when `engine serve` stops, after every game has ended (engine_story_ended).

    Plugins stop what engine_serve_started built and join its threads. Returns nothing.
    """


# --- exporting ------------------------------------------------------------------------


@hookspec(firstresult=True)
def engine_export_audio(context: PlayContext, folder: Path) -> ExportedAudio | None:
    """Fires once during `engine export --web`, after the story's data is written.

    Receives the export's PlayContext (story, Config, the command's options, `notify` for its
    console) and the folder the page fetches audio from. The plugin writes there, as MP3 (the one
    codec every browser plays), the audio of every line it has, and returns an
    engine.export.audio.ExportedAudio: each line id's file per text, the reachable lines it has
    none for (with why), how many lines the story reaches. The first plugin to answer voices
    the export; with none, the story is exported as text.
    """


# --- story lifecycle ------------------------------------------------------------


@hookspec
def engine_story_loaded(context: PlayContext) -> None:
    """Fires once when a game starts (new or continued), before the first scene.

    Receives the game's PlayContext: story, Config, CLI options, `game` (its id,
    which every later hook of this game receives), `trace(record)` to add a record
    to the --trace file, `notify(text)` for a one-line notice to whoever runs the
    game (the terminal's player; the server's console in `engine serve`), and, for
    a front end whose player sees no such notices (a browser page), `tell_player(text)`
    for one short sentence when what the player gets changes, and `streams_audio`
    (see engine_line_delivery). Returns nothing.
    """


@hookspec
def engine_scene_entered(scene: Scene, resumed: bool, game: str) -> None:
    """Fires when the player enters a scene (`resumed` is True when a saved game continues there).

    Returns nothing.
    """


@hookspec
def engine_upcoming_lines(lines: Sequence[SpokenLine], game: str) -> None:
    """Fires on every scene entry and every choice presentation.

    Receives the lines the player may reach next, nearest first: the rest of
    the current scene (following any jumps), then the opening lines of each
    scene reachable through the choices about to be offered. Each firing
    replaces the previous list. Returns nothing.
    """


@hookspec
def engine_narration(line: SpokenLine, game: str) -> None:
    """Fires when a narration line is shown. Returns nothing."""


@hookspec
def engine_dialogue(line: SpokenLine, game: str) -> None:
    """Fires when a dialogue line is shown (`line.speaker` is the display name). Returns nothing."""


@hookspec
def engine_line_delivery(line: SpokenLine, game: str) -> Waitable | None:
    """Fires right after the narration/dialogue hooks, in `read` and `listen` pace.

    Return a Waitable that is set once the plugin has finished delivering the
    line (its audio ended), or None if there is nothing to wait for. The terminal
    waits for all of them (and, in `read` pace, for the reading time too)
    before showing the next line, so text never runs ahead of speech; Enter skips.
    In a game whose PlayContext has `streams_audio` (a browser), the plugin plays
    nothing itself: it returns a LineSound, whose bytes the front end carries to
    the player, who waits for them there.
    """


@hookspec(firstresult=True)
def engine_read_aloud(line: SpokenLine, game: str) -> Waitable | None:
    """Fires when a front end asks for text that is not a story line to be spoken: a
    browser page's list of choices, when its player asks to hear them.

    Return what delivers it, as engine_line_delivery does (a LineSound where the
    game streams audio), or None; the first plugin to answer speaks it. Not fired in
    the terminal. No narration or dialogue hook fires for such a line.
    """


@hookspec
def engine_line_skipped(line: SpokenLine, game: str) -> None:
    """Fires when the player skips a line being delivered (Enter; the page's skip).

    Plugins stop what they are doing for that line (e.g. cut its audio). Returns nothing.
    """


@hookspec
def engine_choices_presented(options: Sequence[ChoiceOption], game: str) -> None:
    """Fires when numbered choices are shown (only those whose condition holds). Returns nothing."""


@hookspec
def engine_answer_sources(options: Sequence[ChoiceOption], game: str) -> AnswerSource | None:
    """Fires when choices wait for an answer, right after `engine_choices_presented`.

    Return an AnswerSource (e.g. speech recognition) or None. The terminal polls
    it next to the keyboard and matches each answer like typed text (numbers,
    number words, words of a label); an unclear answer asks again and typing
    always still works. `close()` is called once the choice is made. Not fired
    when `--choices` answers.
    """


@hookspec
def engine_choice_made(option: ChoiceOption, game: str) -> None:
    """Fires once the player has picked a choice, before its effects apply. Returns nothing."""


@hookspec
def engine_story_ended(ending: str | None, reason: str, game: str) -> None:
    """Fires once when a game stops, whatever the cause.

    `reason` is "ending" (then `ending` is its title), "quit" (progress saved),
    "out_of_choices" (--choices ran out) or "error"; in `engine serve` also "closed"
    (its page closed it), "idle" or "replaced" (saved, then closed), and "ending"
    when a game that reached its ending closes. Plugins stop their work and
    threads for that game here. Returns nothing.
    """
