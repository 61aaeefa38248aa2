"""Recorded takes: an actor's recording of a line replaces its synthetic voice (dink's statuses).

    stories/cellar/takes/final/cellar_fred_hear.wav       best first: final, recorded, scratch
    stories/cellar/takes/recorded/cellar_fred_hear_v2.wav  within a status the highest version (_vN) wins
    stories/cellar/takes/scratch/cellar_fred_ok~3fa2c1.wav  another text said under the same id (its pack key)
    stories/cellar/takes/takes.json                         what text each take was recorded against

A take is named by its line's key (the voice pack's: store/manifest.py entry_key); `engine script` lists
each line's file name. The text a take was recorded against is the recording script's (takes/script.json,
written by `engine script`) when it lists the line, else the line's text when the take is first seen; a take
whose line says something else now is stale and not played. Takes are checked like references (readable,
16-bit or better, not silent, not clipped) when first used; a refused take is skipped with its reason.
Folders are listed again whenever they change, so takes dropped in while a game runs are used at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from engine import write_atomic
from plugins.voice.core.audio import AudioChunk
from plugins.voice.store.cache import normalize_text
from plugins.voice.store.manifest import entry_key
from plugins.voice.store.take_check import BadTake, check_take

TAKES = "takes"  # the folder in the story's
STATUSES = ("final", "recorded", "scratch")  # best first
INDEX = "takes.json"
SCRIPT = "script.json"
_NAME = re.compile(r"^(?P<key>.+?)(?:_v(?P<version>\d+))?\.wav$", re.IGNORECASE)
log = logging.getLogger(__name__)

__all__ = ["BadTake", "Take", "Takes", "STATUSES", "TAKES"]


@dataclass(frozen=True)
class Take:
    key: str
    status: str
    version: int
    path: Path
    sha256: str
    text: str  # what it was recorded against

    def stale(self, text: str) -> bool:
        return normalize_text(self.text) != normalize_text(text)


class Takes:
    """A story's takes folder. Called from the speaker's thread and the runner's (prefetch filter)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.listed: dict[str, tuple[int, list[tuple[int, str, Path]]]] = {}  # status -> (dir mtime, files)
        self.index = self._read(INDEX, "takes")
        self.script = self._read(SCRIPT, "lines")
        self.refused: dict[tuple[Path, int, int], BadTake] = {}
        self.hashes: dict[tuple[Path, int, int], str] = {}

    def best(self, line_id: str, text: str, first: bool | None = None) -> Take | None:
        """The best take of this line as it reads now (stale ones are passed over), or None. `first`: whether the
        text is the line's first (None: unknown, e.g. in play: a variant's own take is tried first)."""
        for take in self.candidates(line_id, text, first):
            if not take.stale(text):
                return take
        return None

    def candidates(self, line_id: str, text: str, first: bool | None = None) -> list[Take]:
        keys = [entry_key(line_id, text, False), line_id] if first is None else [entry_key(line_id, text, first)]
        with self.lock:
            found = [take for status in STATUSES for key in keys if (take := self._best_of(status, key, text))]
        return found

    def audio(self, take: Take) -> AudioChunk:
        """The take's audio, checked; raises BadTake (with the reason) for one that cannot be played. A refusal
        is remembered until the file changes; good audio is read again each time (nothing is held)."""
        try:
            stat = take.path.stat()
        except OSError as exc:
            raise BadTake(take.path, f"cannot be read ({exc.strerror})") from None
        marker = (take.path, stat.st_size, stat.st_mtime_ns)
        with self.lock:
            refused = self.refused.get(marker)
        if refused is not None:
            raise refused
        try:
            return check_take(take.path)
        except BadTake as exc:
            with self.lock:
                self.refused[marker] = exc
            raise

    def _best_of(self, status: str, key: str, text: str) -> Take | None:
        files = [(version, path) for version, name, path in self._listing(status) if name == key]
        if not files:
            return None
        version, path = max(files)
        sha = self._sha(path)
        if sha is None:
            return None
        relative = f"{status}/{path.name}"
        known = self.index.get(relative)
        if not isinstance(known, dict) or known.get("sha256") != sha:  # a new recording: of the script's text
            known = {"sha256": sha, "text": str(self.script.get(key, text))}
            self.index[relative] = known
            self._write_index()
        return Take(key, status, version, path, sha, str(known["text"]))

    def _sha(self, path: Path) -> str | None:
        """The file's SHA-256, hashed again only when its size or modification time changes."""
        try:
            stat = path.stat()
            marker = (path, stat.st_size, stat.st_mtime_ns)
            if marker not in self.hashes:
                self.hashes[marker] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None
        return self.hashes[marker]

    def _listing(self, status: str) -> list[tuple[int, str, Path]]:
        folder = self.folder / status
        try:
            stamp = folder.stat().st_mtime_ns
        except OSError:
            return []
        cached = self.listed.get(status)
        if cached is None or cached[0] != stamp:
            files = []
            for path in folder.iterdir():
                match = _NAME.match(path.name)
                if match and path.is_file():
                    files.append((int(match["version"] or 1), match["key"], path))
            cached = (stamp, files)
            self.listed[status] = cached
        return cached[1]

    def _read(self, name: str, field: str) -> dict[str, object]:
        try:
            data = json.loads((self.folder / name).read_text(encoding="utf-8"))
            found = data.get(field) if isinstance(data, dict) else None
            return dict(found) if isinstance(found, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_index(self) -> None:
        try:
            write_atomic(self.folder / INDEX, json.dumps({"format": 1, "takes": self.index}, indent=1,
                                                         sort_keys=True, ensure_ascii=False).encode())
        except OSError as exc:  # a story folder we cannot write to: staleness is judged on this run's texts
            log.warning("cannot write %s: %s", self.folder / INDEX, exc)

    def write_script(self, texts: dict[str, str]) -> None:
        """What `engine script` asked the actors to say, by line key (takes recorded from it are judged on it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / SCRIPT, json.dumps({"format": 1, "lines": texts}, indent=1, sort_keys=True,
                                                      ensure_ascii=False).encode())
        with self.lock:
            self.script = dict(texts)
