"""The story formats the engine knows: the built-in ones, and those plugins add (`engine_story_formats`)."""

from __future__ import annotations

from typing import Any

from engine.core.errors import EngineError
from engine.formats import StoryFormat


def builtin_formats() -> dict[str, StoryFormat]:
    from engine.formats.ink import INK
    from engine.formats.scenes import SCENES

    return {SCENES.name: SCENES, INK.name: INK}


def known_formats(pm: Any = None) -> dict[str, StoryFormat]:
    """The built-in formats, plus every one the plugins of `pm` add (a name may be taken once)."""
    found = builtin_formats()
    for added in (pm.hook.engine_story_formats() if pm is not None else []):
        for story_format in added or []:
            if story_format.name in found:
                raise EngineError(f"Two story formats are named '{story_format.name}'; disable one of their plugins "
                                  "in [plugins] of config.toml.")
            found[story_format.name] = story_format
    return found
