"""Generated ink stories for conformance tests, compiled by inkjs's compiler: speaker prefixes (with
qualifiers), #speaker and #id tags, directions, variables shown in text ({var}), conditional text, stitches,
conditional and sticky choices, diverts, endings with #ending tags, from a seed."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from tests.support.common import ink_compiler
from tests.support.story_gen import SPEAKERS, write_cast


def write_ink_story(folder: Path, knots: int, seed: int) -> Path:
    rng = random.Random(seed)
    write_cast(folder)
    out = ["VAR coins = 0", "VAR lamp = false", "-> k0", ""]
    for n in range(knots):
        out.append(f"=== k{n} ===")
        if n % 2:
            out.append(f"# title: Room {n}")
        for k in range(rng.randint(1, 4)):
            kind = rng.randrange(6)
            said = f"Line {k} in room {n}, {rng.randint(1, 99)} steps"
            if kind == 0:
                out.append(f"{rng.choice(SPEAKERS).upper()}: {said}.")
            elif kind == 1:
                out.append(f"{rng.choice(SPEAKERS).title()} (O.S.): (quietly) {said}.")
            elif kind == 2:
                out.append(f"{said}, with {{coins}} coins. #speaker:{rng.choice(SPEAKERS)}")
            elif kind == 3:
                out.append(f"{{lamp: The lamp is lit.|It is dark.}} {said}. #id:k{n}_l{k}")
            elif kind == 4:
                out.append(f"You count {{coins}} coins and say: {said}. #mood:calm")
            else:
                out.append(f"{said}.")
            if rng.random() < 0.2:
                out.append(rng.choice(["~ coins += 1", "~ lamp = true", "~ lamp = false", "~ coins -= 1"]))
        if rng.random() < 0.3:
            out.append(f"-> k{n}.side")
            out.append("= side")
            out.append(f"BO: A side room of room {n}.")
        for c in range(rng.randint(1, 3)):
            when = f"{{coins > {rng.randint(-1, 2)}}} " if c and rng.random() < 0.5 else ""
            sticky = "+" if rng.random() < 0.3 else "*"
            if c and rng.random() < 0.25:
                out.append(f"{sticky} {when}[Leave room {n} by door {c}] You leave. #ending:Out of room {n}")
                out.append("  -> END")
            else:
                out.append(f"{sticky} {when}[Door {c} of room {n}]")
                out.append(f"  ~ coins += {rng.randint(0, 2)}")
                out.append(f"  -> k{rng.randrange(knots)}")
        out.append("* -> END")  # a fallback when every choice is gone
        out.append("")
    (folder / "story.ink").write_text("\n".join(out))
    subprocess.run([str(ink_compiler()), str(folder / "story.ink"), "-o", str(folder / "story.ink.json")],
                   check=True, capture_output=True, timeout=120)
    (folder / "story.toml").write_text('title = "Generated ink"\nnarrator = "narrator"\nformat = "ink"\n'
                                       'ink = "story.ink.json"\n')
    return folder
