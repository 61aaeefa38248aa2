"""Recorded takes go into a voice pack in place of synthesis (`engine render`; store/takes.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine import write_atomic
from plugins.voice.render.plan import Synthesis
from plugins.voice.store.manifest import Entry, Manifest, encode, file_name, text_sha
from plugins.voice.store.takes import BadTake, Takes


def put_takes(syntheses: list[Synthesis], takes: Takes, manifest: Manifest, folder: Path, audio_format: str) \
        -> tuple[int, list[tuple[str, str]]]:
    """Writes each take's audio as its entries; returns (entries written, (key, reason) for takes that failed)."""
    written, failed = 0, []
    for synthesis in syntheses:
        take = synthesis.take
        assert take is not None
        try:
            audio = takes.audio(take)
        except BadTake as exc:  # changed since the plan was made
            failed += [(wanted.key, str(exc)) for wanted in synthesis.entries]
            continue
        data, rate = encode(audio, audio_format)
        sha = hashlib.sha256(data).hexdigest()
        acting = synthesis.voice.acting
        facts = {"emotion": acting.emotion, "effect": acting.effect} if acting.key() else {}
        for wanted in synthesis.entries:
            name = file_name(wanted.key, audio_format)
            write_atomic(folder / name, data)
            manifest.entries[wanted.key] = Entry(
                line_id=wanted.line_id, character_id=wanted.character_id, voice_id=synthesis.voice.voice_id,
                text=wanted.text, text_sha=text_sha(wanted.text), engine="recorded",
                model=f"take:{take.status}/{take.path.name}", reference=None, settings={"take": take.status, **facts},
                signature=synthesis.signature, file=name, file_sha=sha, seconds=round(audio.seconds, 3), rate=rate,
                render_ms=0.0)
            written += 1
    return written, failed
