"""`engine check` for ink stories: speakers, line ids and prefixes, at their place in the .ink sources."""

from __future__ import annotations

import re
from collections import Counter

from engine.core.directions import split_directions
from engine.core.errors import Problem
from engine.core.model import Line, Source, Story
from engine.formats.ink.book import InkBook, StaticLine, book_of
from engine.formats.ink.playthrough import OWN_TAGS, LineMaker, implicit_id, names_of, tag_value

_LOOKS_LIKE_SPEAKER = re.compile(r"^(?P<name>[A-Z][A-Z0-9_' -]{0,30}?)\s*(?:\([^()]{1,30}\))?:\s")


def ink_problems(story: Story) -> list[Problem]:
    book = book_of(story)
    return (_speakers(story, book) + _duplicate_ids(book) + _externals(book) + _prefixes(story, book)
            + _missing_ids(book))


def written_lines(story: Story) -> list[Line]:
    """Every line as written in the compiled story, at its place in the sources (no play: for checks).
    Text made at run time (`{variable}`, alternatives) is as the compiler stored its pieces."""
    book = book_of(story)
    maker = LineMaker(story)
    lines = []
    for static in book.lines:
        speaker, qualifier, text = maker.speaker(static.text, list(static.tags))
        directions, said = split_directions(text)
        line_id = tag_value(static.tags, "id") or implicit_id(static.container, speaker, text)
        tags = tuple(tag for tag in static.tags if tag.partition(":")[0].strip().lower() not in OWN_TAGS)
        alternates = tuple(split_directions(maker.speaker(alternate, list(static.tags))[2])[1]
                           for alternate in static.alternates)
        tagged = tag_value(static.tags, "id")
        where = (book.locator.first(rf"#\s*id\s*:\s*{re.escape(tagged)}(?![\w.-])") if tagged else None) \
            or _place(book, static)
        lines.append(Line(line_id, static.container.split(".")[0], speaker, said, speaker == story.narrator, where,
                          None, directions, qualifier, tags, _comment_above(book, where), alternates))
    return lines


def _comment_above(book: InkBook, where: Source) -> str:
    """A `// note` on the source line just above a line: a comment for its actor (as dink reads them)."""
    for path, lines in book.locator.files:
        if path == where.path and 2 <= where.line <= len(lines):
            above = lines[where.line - 2].strip()
            return above[2:].strip() if above.startswith("//") else ""
    return ""


def _externals(book: InkBook) -> list[Problem]:
    """The engine binds no game functions: an EXTERNAL needs an ink function of the same name to fall back on."""
    problems = []
    for name in sorted(book.externals - set(book.knots)):
        where = book.locator.first(rf"^\s*EXTERNAL\s+{re.escape(name)}\b") or Source(book.path, 1)
        problems.append(Problem(where.path, where.line,
                                f"EXTERNAL function '{name}' has no ink fallback; this engine binds no game "
                                f"functions, so add '=== function {name}() ===' for it to run"))
    return problems


def _speakers(story: Story, book: InkBook) -> list[Problem]:
    problems, seen = [], Counter[str]()
    for line in book.lines:
        speaker = tag_value(line.tags, "speaker")
        if speaker is None:
            continue
        seen[speaker] += 1
        if speaker not in story.characters:
            where = _nth(book, rf"#\s*speaker\s*:\s*{re.escape(speaker)}(?![\w.-])", seen[speaker], line)
            problems.append(Problem(where.path, where.line,
                                    f"speaker '{speaker}' has no profile characters/{speaker}.json"))
    return problems


def _duplicate_ids(book: InkBook) -> list[Problem]:
    problems, seen = [], Counter[str]()
    first: dict[str, Source] = {}
    for line in book.lines:
        line_id = tag_value(line.tags, "id")
        if line_id is None:
            continue
        seen[line_id] += 1
        where = _nth(book, rf"#\s*id\s*:\s*{re.escape(line_id)}(?![\w.-])", seen[line_id], line)
        if line_id in first:
            at = first[line_id]
            problems.append(Problem(where.path, where.line,
                                    f"line id '{line_id}' is already used at {at.path.name}:{at.line}"))
        else:
            first[line_id] = where
    return problems


def _prefixes(story: Story, book: InkBook) -> list[Problem]:
    """`KNOCK: ...` reads like a speaker, but names no character: it stays narration, prefix and all."""
    if not book.speaker_prefixes:
        return []
    names = names_of(story.characters)
    problems = []
    for line in book.lines:
        match = _LOOKS_LIKE_SPEAKER.match(line.text)
        if match and match.group("name").strip().lower() not in names and tag_value(line.tags, "speaker") is None:
            where = _place(book, line)
            problems.append(Problem(where.path, where.line,
                                    f"'{match.group('name')}:' looks like a speaker but no character has that id or "
                                    "name, so the line is narration (prefix included)", "warning"))
    return problems


def _missing_ids(book: InkBook) -> list[Problem]:
    untagged = [line for line in book.lines if tag_value(line.tags, "id") is None]
    if not untagged:
        return []
    where = _place(book, untagged[0])
    return [Problem(where.path, where.line,
                    f"{len(untagged)} of {len(book.lines)} lines have no #id: tag (this is the first); their ids come "
                    "from their knot and text, so an edited line gets a new id (and a new recording in a voice pack)",
                    "warning")]


def _place(book: InkBook, line: StaticLine) -> Source:
    words = line.text.split()[:4]
    found = book.locator.first(r"\s+".join(re.escape(w) for w in words)) if words else None
    return found or _knot_place(book, line)


def _nth(book: InkBook, pattern: str, count: int, line: StaticLine) -> Source:
    found = book.locator.all(pattern)
    return found[count - 1] if len(found) >= count else _place(book, line)


def _knot_place(book: InkBook, line: StaticLine) -> Source:
    return book.scene(line.container).source
