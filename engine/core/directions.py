"""Acting directions as authors write them (dink's conventions, in both story formats).

    FRED (O.S.): (quietly) (beat) Let's go. #vo:loud
    ^ speaker    ^ directions, never spoken   ^ tags
         ^ qualifier (off-screen, radio, V.O.), never spoken

This module only splits them off the text; what they mean for a voice is the voice plugin's.
"""

from __future__ import annotations

import re

_DIRECTION = re.compile(r"^\(\s*(?P<direction>[^()]{1,60}?)\s*\)\s*")
_QUALIFIED = re.compile(r"^(?P<name>.*?\S)\s*\(\s*(?P<qualifier>[^()]{1,30}?)\s*\)$")


def split_directions(text: str) -> tuple[tuple[str, ...], str]:
    """The bracketed directions at the start of a line, and the text to say: '(quietly) Go.' -> (('quietly',), 'Go.')."""
    directions = []
    rest = text.strip()
    while (match := _DIRECTION.match(rest)) is not None:
        directions.append(match["direction"])
        rest = rest[match.end():]
    return tuple(directions), rest


def split_qualifier(name: str) -> tuple[str, str]:
    """A speaker's name and its qualifier: 'LAURA (O.S.)' -> ('LAURA', 'O.S.'); 'LAURA' -> ('LAURA', '')."""
    match = _QUALIFIED.match(name.strip())
    return (match["name"], match["qualifier"]) if match else (name.strip(), "")


def shown(directions: tuple[str, ...]) -> str:
    """How directions are written back for a reader: '(quietly) (beat)'."""
    return " ".join(f"({direction})" for direction in directions)
