"""Generated stories of our scene format for conformance tests: state, conditions on lines, jumps and choices,
effects, conditional jumps, endings and loops, from a seed."""

from __future__ import annotations

import random
from pathlib import Path

SPEAKERS = ("ada", "bo")
NAMES = ("lamp", "key", "courage", "visits")


def _condition(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(NAMES[:2])
    if kind == 1:
        return f"not {rng.choice(NAMES[:2])}"
    if kind == 2:
        return f"courage >= {rng.randint(1, 3)}"
    if kind == 3:
        return f"visits < {rng.randint(2, 6)} and not key"
    return f"(lamp or key) and courage != {rng.randint(0, 2)}"


def _effect(rng: random.Random) -> str:
    return rng.choice(["lamp = true", "key = true", "lamp = false", "courage += 1", "courage -= 1", "visits += 2"])


def write_cast(folder: Path) -> None:
    """The narrator and SPEAKERS, each a profile in folder/characters (both generators' cast)."""
    (folder / "characters").mkdir(parents=True)
    for who in ("narrator", *SPEAKERS):
        (folder / "characters" / f"{who}.json").write_text(
            f'{{"character_id": "{who}", "display_name": "{who.title()}", "voice_id": "{who}_v"}}')


def write_story(folder: Path, scenes: int, seed: int) -> Path:
    """A story of `scenes` scenes at `folder`; every path either ends or loops through choices."""
    rng = random.Random(seed)
    write_cast(folder)
    out: list[str] = []
    for n in range(scenes):
        out.append(f"=== s{n}: Room {n} ===" if n % 3 else f"=== s{n} ===")
        out.append(f"You are in room {n}.")
        out.append("~ visits += 1")
        for k in range(rng.randint(1, 4)):
            when = f"{{{_condition(rng)}}} " if rng.random() < 0.4 else ""
            who = rng.choice(SPEAKERS)
            direction = "(quietly) " if rng.random() < 0.2 else ""
            out.append(f"{when}@{who}: {direction}Line {k} of room {n}, said {rng.randint(1, 99)} times.")
            if rng.random() < 0.2:
                out.append(f"~ {_effect(rng)}")
        if n and rng.random() < 0.15:
            out.append(f"{{{_condition(rng)}}} -> s{rng.randrange(scenes)}")
        if rng.random() < 0.1:
            out.append(f"{{{_condition(rng)}}} -> END Lost in room {n}")
        for choice in range(rng.randint(1, 3)):
            when = f"{{{_condition(rng)}}} " if choice and rng.random() < 0.5 else ""
            effects = f" ~ {_effect(rng)}" if rng.random() < 0.5 else ""
            target = f"END Out of room {n}" if rng.random() < 0.15 else f"s{rng.randrange(scenes)}"
            out.append(f"* {when}Door {choice} of room {n} -> {target}{effects}")
        out.append("")
    (folder / "main.story").write_text("\n".join(out))
    (folder / "story.toml").write_text('title = "Generated"\nstart = "s0"\nnarrator = "narrator"\n'
                                       'scenes = ["main.story"]\n')
    return folder
