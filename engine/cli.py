"""`engine`: the one place that turns errors into messages and exit codes."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import secrets
import sys
from pathlib import Path
from typing import Any

import pluggy

from engine import crashes
from engine.config import PACES, Config, engine_settings, load_config
from engine.context import PlayContext
from engine.core.errors import EngineError, Problem, QuitGame, ScriptedChoicesExhausted
from engine.core.saves import forget_game, load_game, save_game, save_path
from engine.export import command as export
from engine.folders import state_home
from engine.formats import open_playthrough
from engine.formats.registry import known_formats
from engine.loader import load_story, read_story
from engine.plugins import make_plugin_manager
from engine.runner import Driver, Runner
from engine.serve import command as serve
from engine.terminal import Terminal
from engine.trace import TracePlugin, TraceWriter


def _common() -> argparse.ArgumentParser:
    """The options every command takes, before or after it, at any depth (`engine models install ... -v`):
    read first (the config decides which plugins add commands), then shown in the help."""
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument("--config", metavar="FILE", help="config file (default ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="show the log in the terminal too")
    return common


COMMON = _common()


def parse_args(pm: pluggy.PluginManager, argv: list[str]) -> argparse.Namespace:
    """The command line: the common options from anywhere in it, the rest by the command's parser."""
    known, rest = COMMON.parse_known_args(argv)
    return build_parser(pm).parse_args(rest, namespace=known)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    known, _ = COMMON.parse_known_args(argv)
    setup_logging(known.verbose)
    crashes.install(log_file())
    try:
        config = load_config(known.config)
        pm = make_plugin_manager(config)
        args = parse_args(pm, argv)
        return int(args.handler(args, config, pm))
    except EngineError as exc:
        print(f"engine: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("engine: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours or a plugin's: the log gets the traceback, the player one sentence
        logging.getLogger("engine").exception("the command failed")
        print(f"engine: {crashes.sentence('The command', exc)}.", file=sys.stderr)
        return 1


def build_parser(pm: pluggy.PluginManager) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engine", description="Play voiced interactive fiction.", parents=[COMMON])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    play = sub.add_parser("play", help="play a story in the terminal")
    play.add_argument("story", metavar="STORY_DIR", type=Path)
    play.add_argument("--continue", dest="resume", action="store_true", help="resume the saved game")
    play.add_argument("--choices", metavar="1,2,1", type=_choice_list, help="answer choices from this list")
    play.add_argument("--pace", choices=PACES, help="read (default), listen (wait for voices) or instant")
    play.add_argument("--trace", metavar="FILE.jsonl", type=Path, help="write every event as JSON lines")
    play.set_defaults(handler=play_command)
    pm.hook.engine_add_play_options(parser=play)

    check = sub.add_parser("check", help="validate a story and report every problem")
    check.add_argument("story", metavar="STORY_DIR", type=Path)
    check.set_defaults(handler=check_command)
    pm.hook.engine_add_serve_options(parser=serve.register(sub))
    pm.hook.engine_add_export_options(parser=export.register(sub))

    pm.hook.engine_register_commands(subparsers=sub)
    return parser


_HANDLERS: list[logging.Handler] = []


def log_file() -> Path:
    return state_home() / "engine.log"


def setup_logging(verbose: bool) -> None:
    """Log records go to a file (never into the story text); -v also shows them on stderr."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in _HANDLERS:  # main() run again in one process: replace, never duplicate
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    try:
        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2,
                                                             encoding="utf-8"))
    except OSError:
        handlers.append(logging.NullHandler())  # an unwritable state dir must not stop the game
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    _HANDLERS[:] = handlers


def _choice_list(text: str) -> list[int]:
    try:
        answers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--choices takes numbers separated by commas, e.g. 1,2,1") from None
    if not answers:
        raise argparse.ArgumentTypeError("--choices needs at least one number")
    return answers


def plugin_problems(pm: pluggy.PluginManager, story: Any, config: Config) -> list[Problem]:
    return [problem for found in pm.hook.engine_validate(story=story, config=config) for problem in found]


def check_command(args: argparse.Namespace, config: Config, pm: pluggy.PluginManager) -> int:
    story, problems = read_story(args.story, known_formats(pm))
    if story is not None and not any(p.severity == "error" for p in problems):
        problems += plugin_problems(pm, story, config)
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{args.story}: {errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def play_command(args: argparse.Namespace, config: Config, pm: pluggy.PluginManager) -> int:
    story = load_story(args.story, known_formats(pm))
    settings = engine_settings(config)
    saved_at = save_path(settings.saves_dir, story)
    playthrough = open_playthrough(story, load_game(saved_at, story) if args.resume else None)
    terminal = Terminal(answers=args.choices, directions=settings.directions == "show")
    writer = TraceWriter(args.trace) if args.trace else None
    if writer:
        pm.register(TracePlugin(writer), name="trace")
    context = PlayContext(story, config, vars(args), writer.write if writer else _no_trace, terminal.notice,
                          game=secrets.token_hex(8))
    terminal.show_title(story)
    for problem in plugin_problems(pm, story, config):  # plugin problems (a missing voice) never stop the story
        if problem.severity == "error":
            terminal.notice(str(problem))
    driver = Driver(context, pm.hook, settings, args.pace or settings.pace, playthrough)
    reason = "error"
    try:
        with crashes.telling(terminal.notice):
            driver.start()
            ending = Runner(driver, terminal).run()
        reason = "ending"
    except (QuitGame, KeyboardInterrupt) as stop:
        save_game(saved_at, playthrough.save())
        reason = "quit"
        terminal.say(f"Progress saved. Continue with: engine play {args.story} --continue", "dim")
        return 130 if isinstance(stop, KeyboardInterrupt) else 0
    except ScriptedChoicesExhausted:
        reason = "out_of_choices"
        raise
    finally:
        driver.end(reason)
        if writer:
            writer.close()
    forget_game(saved_at)
    terminal.show_ending(ending)
    return 0


def _no_trace(record: dict[str, Any]) -> None:
    pass
