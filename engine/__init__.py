"""A story engine for voiced, choice-based text adventures.

The public surface for plugins: the hook marker, the value types and errors.
"""

from engine.config import Config
from engine.context import PlayContext
from engine.errors import EngineError, Problem, StoryError
from engine.files import write_atomic
from engine.loader import load_story
from engine.model import Character, ChoiceOption, Scene, SpokenLine, Story
from engine.plugins import hookimpl

__all__ = [
    "Character", "ChoiceOption", "Config", "EngineError", "PlayContext", "Problem", "Scene", "SpokenLine",
    "Story", "StoryError", "hookimpl", "load_story", "write_atomic",
]
