"""The audio cache: identical lines replay without synthesis.

An entry is `DIR/ab/<key>.<sha>.wav`: `key` hashes everything that changes the audio,
`sha` is the first 16 hex digits of the file's own SHA-256, so a truncated or damaged
file is detected (and deleted) on read. An entry may carry a note (the quality gate's verdict) in
the WAV's comment; a new take of a key replaces the old one. Writes are atomic; eviction (least recently
used, by mtime, which a hit refreshes) holds a file lock, so processes can share a dir.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile

from engine import write_atomic
from plugins.voice.core.audio import AudioChunk, decode, encode
from plugins.voice.core.settings import CacheSettings

FORMAT = 1
STALE_SECONDS = 600.0  # a temporary file this old belongs to no write in progress
NOTE_LIMIT = 2000  # libsndfile keeps a WAV comment up to about 2 KB
log = logging.getLogger(__name__)


def normalize_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def cache_key(**parts: Any) -> str:
    """A stable hash of everything that changes the audio."""
    parts = {**parts, "format": FORMAT}
    if "text" in parts:
        parts["text"] = normalize_text(parts["text"])
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int


class AudioCache:
    def __init__(self, settings: CacheSettings) -> None:
        self.dir = settings.dir
        self.max_bytes = int(settings.max_mb * 1024 * 1024)
        self._estimate: int | None = None  # bytes in the dir, kept up to date without rescanning

    def _entries(self, key: str) -> list[Path]:
        folder = self.dir / key[:2]
        return sorted(folder.glob(f"{key}.*.wav")) if folder.is_dir() else []

    def contains(self, key: str) -> bool:
        """Whether an entry exists (not checked: get() checks it)."""
        return bool(self._entries(key))

    def get(self, key: str) -> AudioChunk | None:
        for path in self._entries(key):
            try:
                data = path.read_bytes()
            except OSError:
                continue  # evicted by another process meanwhile
            if hashlib.sha256(data).hexdigest()[:16] != path.name.split(".")[1]:
                log.warning("cache entry %s is damaged; regenerating", path.name)
                path.unlink(missing_ok=True)
                continue
            audio = decode(data)
            try:
                os.utime(path)  # most recently used
            except OSError:
                pass
            return audio
        return None

    def note(self, key: str) -> dict[str, Any] | None:
        """The note stored with the entry (None: no entry, or none was stored)."""
        for path in self._entries(key):
            try:
                with soundfile.SoundFile(path) as sound:
                    comment = sound.comment
            except (OSError, RuntimeError):
                continue
            try:
                found = json.loads(comment) if comment else None
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
        return None

    def put(self, key: str, audio: AudioChunk, note: dict[str, Any] | None = None) -> Path | None:
        """Stores a line's audio (replacing an older take of the key); a full or read-only disk only
        costs the replay (logged, None)."""
        text = json.dumps(note, sort_keys=True, default=str) if note is not None else None
        if text is not None and len(text) > NOTE_LIMIT:
            raise ValueError(f"a cache note holds at most {NOTE_LIMIT} characters, not {len(text)}")
        data = encode(audio.samples, audio.sample_rate, comment=text)
        path = self.dir / key[:2] / f"{key}.{hashlib.sha256(data).hexdigest()[:16]}.wav"
        older = [old for old in self._entries(key) if old != path]
        try:
            write_atomic(path, data)
        except OSError as exc:
            log.warning("could not store %s in the audio cache: %s", path.name, exc)
            return None
        for old in older:
            old.unlink(missing_ok=True)
        stale = False
        if self._estimate is None:  # the first write of this process also clears what a killed one left
            stale = bool(self.stale())
            self._estimate = sum(size for _, size, _ in self._all())
        else:
            self._estimate += len(data)
        if stale or self._estimate > self.max_bytes:
            self.evict()
        return path

    def _files(self, pattern: str) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of the files matching `pattern`; files removed meanwhile are skipped."""
        found = []
        for path in self.dir.glob(pattern):
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _all(self) -> list[tuple[float, int, Path]]:
        return self._files("??/*.wav")

    def stale(self) -> list[tuple[float, int, Path]]:
        """Temporary files a killed writer left behind (older than any write in progress)."""
        return [entry for entry in self._files("??/.*.tmp") if time.time() - entry[0] > STALE_SECONDS]

    def evict(self) -> int:
        """Deletes stale temporary files, then least recently used entries until the cache fits
        its size cap; returns how many files went."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            removed = 0
            for _, _, path in self.stale():
                path.unlink(missing_ok=True)
                removed += 1
            entries = sorted(self._all())
            total = sum(size for _, size, _ in entries)
            for _, size, path in entries:
                if total <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)
                total -= size
                removed += 1
            self._estimate = total
            return removed

    def stats(self) -> CacheStats:
        entries = self._all() + self.stale()
        return CacheStats(len(entries), sum(size for _, size, _ in entries), self.max_bytes)

    def clear(self) -> int:
        entries = self._all() + self.stale()
        for _, _, path in entries:
            path.unlink(missing_ok=True)
        return len(entries)
