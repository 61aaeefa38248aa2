"""`engine check` for our scene format: targets, characters, line ids, ways out, reachability, loops."""

from __future__ import annotations

from engine.core.errors import Problem
from engine.core.model import Divert, End, Line, Set, Story


def scene_problems(story: Story) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_start(story)
    problems += _check_targets(story)
    problems += _check_characters(story)
    problems += _check_line_ids(story)
    problems += _check_exits(story)
    problems += _unreachable(story)
    problems += _loops_without_choice(story)
    problems += _unset_variables(story)
    return problems


def _check_start(story: Story) -> list[Problem]:
    if story.start in story.scenes:
        return []
    return [Problem(story.source.path, story.source.line, f"start scene '{story.start}' is not defined")]


def _check_targets(story: Story) -> list[Problem]:
    problems = []
    for scene in story.scenes.values():
        jumps = [s for s in scene.body if isinstance(s, Divert)] + [c for c in scene.choices if c.ending is None]
        for jump in jumps:
            if jump.target not in story.scenes:
                problems.append(Problem(jump.source.path, jump.source.line, f"unknown scene '{jump.target}'"))
    return problems


def _check_characters(story: Story) -> list[Problem]:
    problems = []
    for line in story.all_lines():
        if not line.is_narration and line.character_id not in story.characters:
            problems.append(Problem(line.source.path, line.source.line,
                                    f"unknown character_id '{line.character_id}' (no characters/{line.character_id}.json)"))
    return problems


def _check_line_ids(story: Story) -> list[Problem]:
    problems = []
    seen: dict[str, Line] = {}
    for line in story.all_lines():
        if line.line_id in seen:
            first = seen[line.line_id].source
            problems.append(Problem(line.source.path, line.source.line,
                                    f"line id '{line.line_id}' is already used at {first.path.name}:{first.line}"))
        else:
            seen[line.line_id] = line
    return problems


def _check_exits(story: Story) -> list[Problem]:
    problems = []
    for scene in story.scenes.values():
        exits = [s for s in scene.body if isinstance(s, (Divert, End)) and s.condition is None]
        if not scene.choices and not exits:
            problems.append(Problem(scene.source.path, scene.source.line,
                                    f"scene '{scene.scene_id}' has no way out: add choices, '-> scene_id' or '-> END'"))
    return problems


def _unreachable(story: Story) -> list[Problem]:
    seen: set[str] = set()
    todo = [story.start]
    while todo:
        scene = story.scenes.get(todo.pop())
        if scene is None or scene.scene_id in seen:
            continue
        seen.add(scene.scene_id)
        todo += [s.target for s in scene.body if isinstance(s, Divert)]
        todo += [c.target for c in scene.choices if c.ending is None]
    return [
        Problem(s.source.path, s.source.line, f"scene '{s.scene_id}' cannot be reached from '{story.start}'", "warning")
        for s in story.scenes.values()
        if s.scene_id not in seen and story.start in story.scenes
    ]


def _unset_variables(story: Story) -> list[Problem]:
    assigned: set[str] = set()
    for scene in story.scenes.values():
        for statement in scene.body:
            if isinstance(statement, Set):
                assigned |= {a.name for a in statement.assignments}
        for choice in scene.choices:
            assigned |= {a.name for a in choice.effects}
    problems = []
    for scene in story.scenes.values():
        for item in list(scene.body) + list(scene.choices):
            condition = getattr(item, "condition", None)
            for name in sorted(condition.names() - assigned) if condition else []:
                problems.append(Problem(item.source.path, item.source.line,
                                        f"'{name}' is never set, so it is always 0/false here", "warning"))
    return problems


def _loops_without_choice(story: Story) -> list[Problem]:
    """Scenes that jump to each other for ever: every scene of the cycle leaves by an unconditional
    jump before any conditional one, so nothing (no choice, no variable) can ever break it."""
    forced: dict[str, Divert] = {}
    for scene in story.scenes.values():
        for statement in scene.body:
            if isinstance(statement, (Divert, End)) and statement.condition is not None:
                break  # a conditional way out may end the loop
            if isinstance(statement, End):
                break
            if isinstance(statement, Divert):
                forced[scene.scene_id] = statement
                break
    problems, reported = [], set()
    for start in forced:
        path, scene_id = [], start
        while scene_id in forced and scene_id not in path:
            path.append(scene_id)
            scene_id = forced[scene_id].target
        if scene_id in path and scene_id not in reported:
            cycle = path[path.index(scene_id):]
            reported.update(cycle)
            jump = forced[cycle[-1]]
            loop = " -> ".join(cycle + [scene_id])
            problems.append(Problem(jump.source.path, jump.source.line,
                                    f"scenes {loop} jump to each other for ever with no choice; "
                                    "add a choice or a conditional way out"))
    return problems
