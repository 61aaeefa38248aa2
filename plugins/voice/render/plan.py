"""What a render has to make: every reachable line, keyed for the pack, grouped by what it sounds like."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.formats.explore import Reach
from plugins.voice.casting.cast import Cast
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.store.keys import line_key
from plugins.voice.store.manifest import Manifest, entry_key, file_sha_matches
from plugins.voice.store.takes import BadTake, Take, Takes


@dataclass(frozen=True)
class Wanted:
    """One entry the pack should hold."""

    key: str
    line_id: str
    character_id: str
    text: str
    voice: Voice
    signature: str  # the line's cache key with this engine: what changes the audio (or its take's hash)
    take: Take | None = None  # an actor's recording, put in the pack in place of synthesis


@dataclass
class Synthesis:
    """One piece of audio to make, and every entry it becomes (same voice, same text)."""

    signature: str
    text: str
    voice: Voice
    entries: list[Wanted] = field(default_factory=list)
    take: Take | None = None  # nothing to synthesize: the take's audio goes in


@dataclass
class RenderPlan:
    wanted: list[Wanted]
    todo: list[Synthesis]  # what is missing or stale, one synthesis per signature
    fresh: int  # entries already in the pack and up to date
    orphans: list[str]  # entries in the pack for lines the story no longer reaches


def wanted_entries(reach: Reach, cast: Cast, engine: Engine | None, engines: dict[str, Engine],
                   takes: Takes | None = None) -> list[Wanted]:
    """`engine`: the one to render with, or None for each character's own (its profile's engine); a line with a
    current take (store/takes.py) is wanted as that recording."""
    wanted = []
    for line in reach.lines:
        texts = [line.text] + sorted(reach.variants.get(line.line_id, set()) - {line.text})
        voice = cast.voice_for_line(line)
        if voice.acting.silent or not line.text:
            continue  # a sound cue or a direction alone: nothing to say
        chosen = engine or engines[voice.engine]
        for n, text in enumerate(texts):
            take = usable_take(takes, line.line_id, text) if takes is not None else None  # a text's own take first
            signature = f"take:{take.sha256}" if take else line_key(chosen, voice, text)
            wanted.append(Wanted(entry_key(line.line_id, text, n == 0), line.line_id, line.character_id, text, voice,
                                 signature, take))
    return wanted


def usable_take(takes: Takes, line_id: str, text: str) -> Take | None:
    """The best take of this text that is current and passes the checks (a refused one is passed over)."""
    for take in takes.candidates(line_id, text):
        if take.stale(text):
            continue
        try:
            takes.audio(take)
        except BadTake:
            continue
        return take
    return None


def make_plan(wanted: list[Wanted], manifest: Manifest | None, folder: Path) -> RenderPlan:
    entries = manifest.entries if manifest else {}
    todo: dict[str, Synthesis] = {}
    fresh = 0
    for item in wanted:
        old = entries.get(item.key)
        if old is not None and old.signature == item.signature and file_sha_matches(folder / old.file, old.file_sha):
            fresh += 1
            continue
        synthesis = todo.setdefault(item.signature, Synthesis(item.signature, item.text, item.voice, take=item.take))
        synthesis.entries.append(item)
    keys = {item.key for item in wanted}
    return RenderPlan(wanted, list(todo.values()), fresh, sorted(k for k in entries if k not in keys))
