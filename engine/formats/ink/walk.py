"""Visits compiled ink's containers in order, gathering knots, stitches, titles, text fragments and the static
lines (text up to a newline, with its tags; a sequence's alternatives kept apart): what book.py indexes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TOP = "_top"  # the scene of text before the first knot
_INTERNAL = re.compile(r"^(c-\d+|g-\d+|b|s|\$r\d*)$")  # containers the compiler makes, not stitches
_ALTERNATIVE = re.compile(r"^s\d+$")  # a sequence's alternatives (shuffle, stopping, cycle, once)
SLOT = "\x00"  # where a sequence's alternatives go in a line being gathered


@dataclass(frozen=True)
class StaticLine:
    text: str  # with a sequence's first alternative (`{shuffle: Right.|Fine.}` -> "Right.")
    tags: tuple[str, ...]
    container: str  # "knot" or "knot.stitch"
    alternates: tuple[str, ...] = ()  # the line with each alternative of its sequence, in the source's order


class Walk:
    """Visits compiled ink's containers in order, gathering knots, fragments and static lines."""

    def __init__(self) -> None:
        self.knots: list[str] = []
        self.stitches: set[str] = set()
        self.titles: dict[str, str] = {}
        self.fragments: dict[str, set[str]] = {}
        self.lines: list[StaticLine] = []
        self.externals: set[str] = set()
        self.text, self.tag = "", ""  # the line being gathered, and its tag being read
        self.alternatives: list[str] = []  # of the line's sequence (one per line is kept apart)
        self.tags: list[str] = []
        self.in_tag = self.in_str = False

    def container(self, items: list[Any], where: str, depth: int = 0) -> None:
        named = items[-1] if items and isinstance(items[-1], dict) else {}
        for item in items[:-1] if named or (items and items[-1] is None) else items:
            self.item(item, where, depth)
        if "seq" in items and not self.alternatives and any(_ALTERNATIVE.match(name) for name in named):
            self.sequence(named, where, depth)
            return
        for name, sub in named.items():
            if not isinstance(sub, list):
                continue
            if depth == 0 and name != "global decl":  # the root's named containers are the knots
                self.knots.append(name)
                self.titles.update(_title(name, sub))
                self.container(sub, name, 1)
            elif depth == 1 and not _INTERNAL.match(name):  # a knot's named containers are its stitches
                self.stitches.add(f"{where}.{name}")
                self.container(sub, f"{where}.{name}", 2)
            elif name != "global decl":
                self.container(sub, where, depth + 1 if depth < 2 else depth)

    def sequence(self, named: dict[str, Any], where: str, depth: int) -> None:
        """`{shuffle: a|b|c}` in a line: each alternative gathered on its own, the line keeps a slot for them."""
        before, found = self.text, []
        for name, sub in named.items():
            if _ALTERNATIVE.match(name) and isinstance(sub, list):
                self.text = ""
                self.container(sub, where, depth + 1)
                found.append(self.text)
        self.text, self.alternatives = before + SLOT, found

    def item(self, item: Any, where: str, depth: int) -> None:
        if isinstance(item, list):
            self.container(item, where or TOP, max(depth, 2) if depth else 2)
        elif isinstance(item, dict) and isinstance(item.get("#"), str):
            self.tags.append(item["#"].strip())  # a tag as older compilers wrote it
        elif isinstance(item, dict) and isinstance(item.get("x()"), str):
            self.externals.add(item["x()"])
        elif isinstance(item, str):
            self.word(item, where or TOP)

    def word(self, item: str, where: str) -> None:
        if item == "#":
            self.in_tag, self.tag = True, ""
        elif item == "/#":
            self.in_tag = False
            self.tags.append(self.tag.strip())
        elif item == "str":
            self.in_str = True
        elif item == "/str":
            self.in_str = False
        elif item.startswith("^"):
            if self.in_tag:
                self.tag += item[1:]
            elif not self.in_str:
                self.text += item[1:]
                fragment = " ".join(item[1:].split())
                if fragment:
                    self.fragments.setdefault(fragment, set()).add(where)
        elif item == "\n":
            versions = [self.text.replace(SLOT, alternative) for alternative in self.alternatives] or [self.text]
            versions = [" ".join(version.split()) for version in versions]
            if any(versions):
                self.lines.append(StaticLine(versions[0], tuple(self.tags), where,
                                             tuple(versions) if len(versions) > 1 else ()))
            self.text, self.tags, self.alternatives = "", [], []


def _title(knot: str, items: list[Any]) -> Iterator[tuple[str, str]]:
    """A knot's `# title: ...` tag, among the tags before its first text."""
    for tag in _leading_tags(items):
        key, _, value = tag.partition(":")
        if key.strip().lower() == "title" and value.strip():
            yield knot, value.strip()
            return


def _leading_tags(items: list[Any]) -> list[str]:
    tags: list[str] = []
    while items and isinstance(items[0], list):  # a knot's content starts in an unnamed container
        items = items[0]
    tag: str | None = None
    for item in items:
        if item == "#":
            tag = ""
        elif item == "/#" and tag is not None:
            tags.append(tag.strip())
            tag = None
        elif isinstance(item, str) and item.startswith("^") and tag is not None:
            tag += item[1:]
        elif isinstance(item, dict) and isinstance(item.get("#"), str):
            tags.append(item["#"])
        elif isinstance(item, str) and (item.startswith("^") or item == "\n"):
            break
    return tags
