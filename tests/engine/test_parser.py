from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import StoryError
from engine.core.model import Divert, End, Line, Set
from engine.formats.scenes.parser import parse_scene_file, parse_scenes

HERE = Path("act.story")

SAMPLE = """\
// a comment
=== gate: The Sealed Gate ===
Sand hisses against the stone.
@archaeologist: Hold the lamp higher. #lamp
{torch} The carvings glitter.
~ torch = true, courage += 1
{courage >= 2} -> hall
* Open the gate -> hall ~ opened = true
* {torch} Light the carvings -> hall

=== hall ===
@guide: Hello.
-> END The Sun Returns
"""


def test_every_construct() -> None:
    gate, hall = parse_scenes(SAMPLE, HERE)
    assert (gate.scene_id, gate.title, hall.title) == ("gate", "The Sealed Gate", "Hall")
    narration, dialogue, conditional, assign, jump = gate.body
    assert isinstance(narration, Line) and narration.is_narration and narration.character_id == "narrator"
    assert (narration.line_id, narration.source.line) == ("gate.1", 3)
    assert isinstance(dialogue, Line) and (dialogue.character_id, dialogue.line_id) == ("archaeologist", "lamp")
    assert dialogue.text == "Hold the lamp higher."
    assert isinstance(conditional, Line) and conditional.condition is not None
    assert conditional.condition.holds({"torch": True}) and not conditional.condition.holds({})
    assert conditional.line_id == "gate.3"
    assert isinstance(assign, Set) and [a.name for a in assign.assignments] == ["torch", "courage"]
    assert isinstance(jump, Divert) and jump.target == "hall" and jump.condition is not None
    first, second = gate.choices
    assert (first.label, first.target, first.effects[0].name) == ("Open the gate", "hall", "opened")
    assert second.condition is not None and second.label == "Light the carvings"
    assert isinstance(hall.body[1], End) and hall.body[1].title == "The Sun Returns"


def test_narrator_comes_from_the_story() -> None:
    (scene,) = parse_scenes("=== a ===\nHello.\n-> END\n", HERE, narrator="storyteller")
    assert scene.lines[0].character_id == "storyteller"


def test_line_ids_do_not_move_when_other_scenes_change() -> None:
    before = parse_scenes("=== a ===\nOne.\n-> b\n=== b ===\nTwo.\nThree.\n-> END\n", HERE)
    after = parse_scenes("=== a ===\nOne.\nA new line.\nAnother.\n-> b\n=== b ===\nTwo.\nThree.\n-> END\n", HERE)
    assert [line.line_id for line in before[1].lines] == [line.line_id for line in after[1].lines] == ["b.1", "b.2"]


def test_problems_name_the_line_and_keep_going() -> None:
    text = "stray text\n=== a ===\n@: hi\n* no target\n{x >} Hello\nFine.\n* Go -> b\nAfter a choice.\n"
    _, problems = parse_scene_file(text, HERE)
    assert [(p.line, p.path) for p in problems] == [(1, HERE), (3, HERE), (4, HERE), (5, HERE), (8, HERE)]
    assert "before the first scene" in problems[0].message
    assert "only choices may follow" in problems[4].message


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_story_errors(text: str) -> None:
    try:
        parse_scenes(text, HERE)
    except StoryError as exc:
        assert all(p.path == HERE and p.line >= 1 for p in exc.problems)


_LINES = st.sampled_from(
    ["=== a ===", "=== b: B ===", "Hello.", "@guide: Hi.", "{x} Hi.", "~ x = 1", "-> a", "-> END", "* Go -> b",
     "* {x} Go -> a ~ y += 1", "{", "@", "*", "~", "->", "// c", "#", "{x} -> b", "=== ==="]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=12))
def test_arbitrary_line_mixes_raise_only_story_errors(lines: list[str]) -> None:
    try:
        parse_scenes("\n".join(lines), HERE)
    except StoryError:
        pass
