"""Ink stories (compiled JSON from Inky or inklecate): `story.toml` names the JSON (`ink`), optionally
the main .ink source (`source`) and whether `NAME:` prefixes name speakers (`speaker_prefixes`).
book.py reads and indexes the JSON, check.py checks it, playthrough.py plays it with the ink runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.core.errors import Problem
from engine.core.model import Line, Source, Story
from engine.formats import Content, Manifest, Playthrough
from engine.formats.ink.book import TOP, book_of, read_ink
from engine.formats.ink.check import ink_problems, written_lines
from engine.formats.ink.playthrough import InkPlaythrough, open_runtime

VISITS_SEEN = 3  # ink visit counts above this are the same state for a walk


class InkFormat:
    name = "ink"
    keys: tuple[tuple[str, type, Any], ...] = (("ink", str, None), ("source", str, ""), ("speaker_prefixes", bool, True))

    def read(self, root: Path, manifest: Manifest, problems: list[Problem]) -> Content | None:
        values = manifest.values
        where = Source(manifest.path, manifest.line("ink"))
        book = read_ink(root, values["ink"], values.get("source"), where, values["speaker_prefixes"], problems)
        if book is None:
            return None
        return Content({knot: book.scene(knot) for knot in (TOP, *book.knots)}, TOP, book)

    def check(self, story: Story) -> list[Problem]:
        return ink_problems(story)

    def lines(self, story: Story) -> list[Line]:
        return written_lines(story)

    def open(self, story: Story, record: dict[str, Any] | None, shared: Any = None) -> Playthrough:
        return InkPlaythrough(story, record, shared)

    def shared(self, story: Story) -> Any:
        return open_runtime(book_of(story))  # parsing the JSON is the cost: a walk reuses one runtime

    def state_key(self, story: Story, record: dict[str, Any]) -> str:
        """Leaves out turn counters, and counts visits only up to VISITS_SEEN: a hub visited again and
        again is not a new state each time."""
        state = json.loads(record["state"])
        for volatile in ("turnIdx", "turnIndices", "previousRandom"):
            state.pop(volatile, None)
        state["visitCounts"] = {k: min(v, VISITS_SEEN) for k, v in state.get("visitCounts", {}).items()}
        return json.dumps({**record, "state": state, "ending": None}, sort_keys=True)


INK = InkFormat()
