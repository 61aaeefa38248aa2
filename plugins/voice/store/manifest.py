"""A voice pack on disk: `manifest.json` and one audio file per line, keyed by line id.

    packs/tomb/manifest.json
    packs/tomb/dunes.1.opus          a line's id is its key
    packs/tomb/gal_oil~3fa2c1.opus   a second text said under the same id (`We have {cans(oil)} ...`)

Each entry records what the audio was made from (text, character, voice, engine, model, reference,
settings: `signature` hashes them like a cache key) and what it is (file SHA-256, seconds, rate).
Files and the manifest are written atomically; the manifest is the truth: a file it does not
list is not part of the pack.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine import write_atomic
from plugins.voice.core.audio import AudioChunk, resample
from plugins.voice.core.audio import encode as encode_audio
from plugins.voice.core.errors import VoiceError
from plugins.voice.store.cache import normalize_text

MANIFEST = "manifest.json"
FORMAT = 1
FORMATS = {"opus": ("OGG", "OPUS", "opus"), "flac": ("FLAC", "PCM_16", "flac")}
OPUS_RATE = 24000  # Opus takes 8, 12, 16, 24 or 48 kHz; 24 kHz is what XTTS makes and what we play
_SAFE = re.compile(r"^[A-Za-z0-9._~-]{1,120}$")


def text_sha(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode()).hexdigest()


def entry_key(line_id: str, text: str, first: bool) -> str:
    """A line id, or `id~hash` for another text said under the same id; never a path outside the pack."""
    key = line_id if first else f"{line_id}~{text_sha(text)[:6]}"
    if _SAFE.match(key) and not key.startswith("."):
        return key
    return f"id-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Entry:
    line_id: str
    character_id: str
    voice_id: str
    text: str
    text_sha: str
    engine: str
    model: str
    reference: str | None
    settings: dict[str, Any]
    signature: str  # hash of everything that changes the audio (the cache key of the line)
    file: str
    file_sha: str
    seconds: float
    rate: int
    render_ms: float  # synthesis time, for rate estimates
    gate: dict[str, Any] | None = None  # quality gate scores, when a gate ran


@dataclass
class Manifest:
    story: str
    audio: str  # "opus" or "flac"
    entries: dict[str, Entry]

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The pack's manifest; None if the folder holds no pack yet; VoiceError if it is damaged."""
        path = folder / MANIFEST
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            entries = {key: Entry(**value) for key, value in data["entries"].items()}
            return cls(str(data["story"]), str(data["audio"]), entries)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VoiceError(f"The voice pack manifest {path} is damaged ({exc}); render the pack again.") from None

    def write(self, folder: Path) -> None:
        data = {"format": FORMAT, "story": self.story, "audio": self.audio,
                "entries": {key: asdict(entry) for key, entry in sorted(self.entries.items())}}
        write_atomic(folder / MANIFEST, json.dumps(data, indent=1, ensure_ascii=False).encode())


def encode(audio: AudioChunk, audio_format: str) -> tuple[bytes, int]:
    """(file bytes, their sample rate); Opus is resampled to 24 kHz."""
    container, subtype, _ = FORMATS[audio_format]
    rate = OPUS_RATE if audio_format == "opus" else audio.sample_rate
    samples = resample(audio.samples, audio.sample_rate, rate)
    return encode_audio(samples, rate, container, subtype), rate


def file_name(key: str, audio_format: str) -> str:
    return f"{key}.{FORMATS[audio_format][2]}"


def file_sha_matches(path: Path, sha: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha
    except OSError:
        return False
