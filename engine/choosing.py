"""Turns what the player typed (or said) into one of the offered choices."""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.model import ChoiceOption

NUMBER_WORDS = {
    "one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
    "five": 5, "fifth": 5, "six": 6, "sixth": 6, "seven": 7, "eight": 8, "nine": 9,
}
_WORD = re.compile(r"[a-z0-9']+")
_SMALL = {"the", "a", "an", "to", "of", "and", "in", "on", "at", "it", "i"}


def match_choice(answer: str, options: Sequence[ChoiceOption]) -> list[ChoiceOption]:
    """Options that fit the answer: a number, a number word, or words found in one label.

    One option means a clear answer; none or several mean ask again.
    """
    words = _WORD.findall(answer.lower())
    if not words:
        return []
    if len(words) == 1:
        number = int(words[0]) if words[0].isdigit() else NUMBER_WORDS.get(words[0])
        if number is not None:
            return [o for o in options if o.number == number]
    wanted = [w for w in words if w not in _SMALL] or words
    fits = []
    for option in options:
        label_words = _WORD.findall(option.label.lower())
        if all(any(lw.startswith(w) for lw in label_words) for w in wanted):
            fits.append(option)
    return fits
