"""The key a line's audio is kept under: everything that changes what is heard, nothing else."""

from __future__ import annotations

from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.store.cache import cache_key


def line_key(engine: Engine, voice: Voice, text: str) -> str:
    acting = voice.acting.key()  # only when the line is acted: the keys of plain lines stay as they were
    return cache_key(engine=engine.name, model=engine.identity(voice), reference=voice.reference_hash,
                     language=voice.language, speed=voice.speed, text=text, **({"acting": acting} if acting else {}))
