"""Where the engine and its plugins keep files (the XDG base directories), in one place."""

from __future__ import annotations

import os
from pathlib import Path

APP = "voiced-if"


def _base(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / fallback)


def state_home() -> Path:
    """Saves and the log: $XDG_STATE_HOME/voiced-if (~/.local/state/voiced-if)."""
    return _base("XDG_STATE_HOME", ".local/state") / APP


def cache_home() -> Path:
    """What can be made again (audio, latents, checked references): $XDG_CACHE_HOME/voiced-if (~/.cache/voiced-if)."""
    return _base("XDG_CACHE_HOME", ".cache") / APP


def config_home() -> Path:
    """Secrets such as the bridge token: $XDG_CONFIG_HOME/voiced-if (~/.config/voiced-if)."""
    return _base("XDG_CONFIG_HOME", ".config") / APP
