"""A plugin for tests: adds a subcommand, a play option and a validation problem."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine import Config, Problem, Story, hookimpl


def _hello(args: argparse.Namespace, config: Config, pm: Any) -> int:
    if config.get("extra", {}).get("broken"):
        raise RuntimeError("a bug in the hello command")
    print(f"hello {args.name}")
    return 7


@hookimpl
def engine_register_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser("hello", help="say hello")
    parser.add_argument("name")
    parser.set_defaults(handler=_hello)


@hookimpl
def engine_add_play_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shout", action="store_true")


@hookimpl
def engine_validate(story: Story, config: Config) -> list[Problem]:
    if config.get("extra", {}).get("complain"):
        guide = story.characters["guide"]
        return [Problem(Path(guide.path), 1, "guide has no voice (from a plugin)")]
    return []
