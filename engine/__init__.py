"""A story engine for voiced, choice-based text adventures.

The public surface for plugins: the hook marker, the value types and errors.
"""

from engine.access import is_loopback, kept_token, token_matches
from engine.config import Config
from engine.context import PlayContext
from engine.core.errors import EngineError, Problem, StoryError
from engine.core.files import write_atomic
from engine.core.model import Character, ChoiceOption, Scene, SpokenLine, Story
from engine.loader import load_story
from engine.plugins import hookimpl

__all__ = [
    "Character", "ChoiceOption", "Config", "EngineError", "PlayContext", "Problem", "Scene", "SpokenLine",
    "Story", "StoryError", "hookimpl", "is_loopback", "kept_token", "load_story", "token_matches", "write_atomic",
]
