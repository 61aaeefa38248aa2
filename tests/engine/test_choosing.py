"""Matching what the player typed or said to the offered choices."""

from __future__ import annotations

import pytest

from engine.choosing import match_choice
from engine.core.model import ChoiceOption

HALL = [ChoiceOption(1, "Take the golden scarab", "a"), ChoiceOption(2, "Read the writing on the pillars", "b"),
        ChoiceOption(3, "Follow the footprints", "c")]
SANCTUM = [ChoiceOption(1, "Tell him the truth: you came to learn", "a"), ChoiceOption(2, "Offer him back the scarab", "b"),
           ChoiceOption(3, "Tell him you came for treasure", "c")]


@pytest.mark.parametrize(("answer", "number"), [
    ("2", 2), ("two", 2), ("Two.", 2), ("Number two.", 2), ("option 3", 3), ("the second one", 2), ("First.", 1),
    ("To.", 2),  # how speech recognition often hears a lone "two"
    ("I'll take the golden scarab.", 1), ("read the writing", 2), ("footprints", 3),
    ("Folow the foot prints", 3), ("I want the pillars", 2), ("Take the golden scare out.", 1),  # misheard
])
def test_clear_answers(answer: str, number: int) -> None:
    assert [o.number for o in match_choice(answer, HALL)] == [number]


@pytest.mark.parametrize("answer", ["", "banana bread", "7", "four", "..."])
def test_answers_that_fit_nothing(answer: str) -> None:
    assert match_choice(answer, HALL) == []


def test_answers_that_fit_several_and_their_tie_breakers() -> None:
    assert [o.number for o in match_choice("tell him", SANCTUM)] == [1, 3]
    assert len(match_choice("the", HALL)) == 3
    assert [o.number for o in match_choice("Tell him the truth.", SANCTUM)] == [1]
    assert [o.number for o in match_choice("tell him about the treasure", SANCTUM)] == [3]
