"""Whole-story checks: those every format shares, then the story format's own (engine.formats)."""

from __future__ import annotations

from engine.core.errors import Problem
from engine.core.model import Story


def validate_story(story: Story) -> list[Problem]:
    """The checks every format shares (the narrator has a profile), then the format's own."""
    return _check_narrator(story) + story.format.check(story)


def _check_narrator(story: Story) -> list[Problem]:
    if story.narrator in story.characters:
        return []
    return [Problem(story.source.path, 1, f"narrator '{story.narrator}' has no profile characters/{story.narrator}.json")]
