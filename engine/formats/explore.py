"""Every line a player can reach, in any story format: each branch played through its Playthrough.

Used to render voice packs and to check them. A branch is resumed from the saved record at a
choice, so no format needs a walker of its own. Two choice points with the same state (the
format's `state_key`) are explored once. The walk stops at `max_states` choice points (the result
says whether it was complete).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

from engine.core.model import Line, Story
from engine.formats import ChoiceStep, EndStep, LineStep, SceneStep


@dataclass
class Reach:
    lines: list[Line] = field(default_factory=list)  # every line id reached, with the first text it was said with
    variants: dict[str, set[str]] = field(default_factory=dict)  # line ids said with more than one text
    endings: set[str] = field(default_factory=set)
    states: int = 0  # choice points explored
    complete: bool = True  # False when max_states or max_seconds stopped the walk


def reachable_lines(story: Story, max_states: int = 20_000, max_seconds: float = 120.0) -> Reach:
    reach = Reach()
    texts: dict[str, str] = {}
    seen: set[str] = set()
    # (-new lines on the way there, order, record at a choice, pick): branches that found new lines go first
    todo: list[tuple[int, int, dict[str, Any] | None, int | None]] = [(0, 0, None, None)]
    order = 0
    deadline = time.monotonic() + max_seconds
    shared = story.format.shared(story)  # e.g. one ink runtime for every branch: parsing the JSON is the cost
    while todo:
        if reach.states >= max_states or time.monotonic() > deadline:
            reach.complete = False
            break
        _, _, record, pick = heapq.heappop(todo)
        found = len(reach.lines)
        game = story.format.open(story, record, shared)
        if pick is not None:
            while not isinstance(game.next(), ChoiceStep):
                pass
            game.choose(pick)
        while True:
            step = game.next()
            if isinstance(step, SceneStep):
                continue
            if isinstance(step, LineStep):
                _add(reach, texts, step.line)
            elif isinstance(step, EndStep):
                reach.endings.add(step.title)
                break
            else:
                at = game.save()
                key = story.format.state_key(story, at)
                if key not in seen:
                    seen.add(key)
                    reach.states += 1
                    for index in range(len(step.options)):
                        order += 1
                        heapq.heappush(todo, (found - len(reach.lines), order, at, index))
                break
    return reach


def _add(reach: Reach, texts: dict[str, str], line: Line) -> None:
    first = texts.get(line.line_id)
    if first is None:
        texts[line.line_id] = line.text
        reach.lines.append(line)
    elif first != line.text:
        reach.variants.setdefault(line.line_id, {first}).add(line.text)
