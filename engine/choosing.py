"""Turns what the player typed (or said) into one of the offered choices."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from engine.core.model import ChoiceOption

NUMBER_WORDS = {
    "one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
    "five": 5, "fifth": 5, "six": 6, "sixth": 6, "seven": 7, "seventh": 7, "eight": 8, "eighth": 8,
    "nine": 9, "ninth": 9,
}
SOUNDS_LIKE = {"won": 1, "to": 2, "too": 2, "for": 4, "fore": 4}  # a number said alone, as speech recognition hears it
FILLERS = {"option", "number", "choice", "choose", "pick", "please", "um", "uh", "er", "okay", "ok", "so", "i'll",
           "i", "want", "take", "let's", "go", "for", "with", "one", "the", "a"}
_WORD = re.compile(r"[a-z0-9']+")
_SMALL = {"the", "a", "an", "to", "of", "and", "in", "on", "at", "it", "i"}
CLOSE = 0.8  # how alike two words must be to count as the same word misheard or mistyped
FUZZY_FIT = 0.6  # how well the best label must fit ...
FUZZY_MARGIN = 0.15  # ... and by how much better than the next one


def match_choice(answer: str, options: Sequence[ChoiceOption]) -> list[ChoiceOption]:
    """Options that fit the answer: a number ("2", "two", "number two", "the second one"),
    words found in one label, or else the one label the words are clearly closest to.

    One option means a clear answer; none or several mean ask again.
    """
    words = _WORD.findall(answer.lower())
    if not words:
        return []
    number = _number(words)
    if number is not None:
        return [o for o in options if o.number == number]
    wanted = [w for w in words if w not in _SMALL] or words
    fits = [o for o in options if all(any(lw.startswith(w) for lw in _WORD.findall(o.label.lower())) for w in wanted)]
    return fits or _closest([w for w in wanted if w not in FILLERS] or wanted, options)


def _number(words: list[str]) -> int | None:
    if len(words) == 1 and words[0] in SOUNDS_LIKE:
        return SOUNDS_LIKE[words[0]]
    rest = [w for w in words if w not in FILLERS] or [w for w in words if w in NUMBER_WORDS][-1:]
    if len(rest) != 1:
        return None
    return int(rest[0]) if rest[0].isdigit() else NUMBER_WORDS.get(rest[0])


def _closest(wanted: list[str], options: Sequence[ChoiceOption]) -> list[ChoiceOption]:
    """The option whose label the answer's words fit best, allowing misheard words; [] if none stands out."""
    scores = sorted(((_fit(wanted, option.label), option.number) for option in options), reverse=True)
    best, number = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    if best >= FUZZY_FIT and best - runner_up >= FUZZY_MARGIN:
        return [o for o in options if o.number == number]
    return []


def _fit(wanted: list[str], label: str) -> float:
    label_words = [w for w in _WORD.findall(label.lower()) if w not in _SMALL]
    if not label_words:
        return 0.0

    def alike(a: str, b: str) -> bool:  # "foot" ~ "footprints", "scare" ~ "scarab", "folow" ~ "follow"
        return b.startswith(a) or a[:4] == b[:4] and len(a) >= 4 or SequenceMatcher(None, a, b).ratio() >= CLOSE

    said = sum(any(alike(w, lw) for lw in label_words) for w in wanted) / len(wanted)
    covered = sum(any(alike(w, lw) for w in wanted) for lw in label_words) / len(label_words)
    return (said + covered) / 2
