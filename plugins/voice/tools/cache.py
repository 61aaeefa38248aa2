"""`engine cache stats` and `engine cache clear`: the audio cache."""

from __future__ import annotations

import argparse
from typing import Any

from engine import Config
from plugins.voice.core.settings import voice_settings
from plugins.voice.store.cache import AudioCache


def register(subparsers: Any) -> None:
    cache = subparsers.add_parser("cache", help="inspect or empty the audio cache")
    cache.add_argument("action", choices=("stats", "clear"))
    cache.set_defaults(handler=cache_command)


def cache_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    cache = AudioCache(voice_settings(config).cache)
    if args.action == "clear":
        print(f"Removed {cache.clear()} entries from {cache.dir}.")
        return 0
    stats = cache.stats()
    used = stats.bytes / 1024 / 1024
    print(f"{cache.dir}: {stats.entries} entries, {used:.1f} MB of {stats.max_bytes / 1024 / 1024:.0f} MB")
    return 0
