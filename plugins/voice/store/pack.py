"""Playing from a voice pack: a line whose entry still matches is heard from the pack, no model needed.

An entry matches a line when its id (or `id~hash` for another text), its text, its character
and the character's voice_id are the ones the story says now. What made the audio (engine,
reference, settings) is the render's business (`engine render` re-renders what changed;
`engine pack verify` reports it); a player has neither the reference WAVs nor the model.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from engine import SpokenLine
from plugins.voice.core.acting import NEUTRAL, Acting
from plugins.voice.core.audio import AudioChunk, decode
from plugins.voice.core.errors import VoiceError
from plugins.voice.store.manifest import Entry, Manifest, entry_key, text_sha

log = logging.getLogger(__name__)
DECODED_BYTES = 64 * 1024 * 1024  # decoded lines kept in memory: many players of one server hear the same lines


class Pack:
    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        self.lock = threading.Lock()  # the decoded lines: every game's speaker thread reads them
        self.decoded: OrderedDict[str, AudioChunk] = OrderedDict()  # by the file's SHA-256, least recent first
        self.decoded_bytes = 0

    @classmethod
    def open(cls, folder: Path) -> Pack:
        """Raises VoiceError when there is no pack there, or its manifest is damaged."""
        manifest = Manifest.read(folder)
        if manifest is None:
            raise VoiceError(f"There is no voice pack in {folder} (no manifest.json); make one with 'engine render'.")
        return cls(folder, manifest)

    def entry(self, line: SpokenLine, voice_id: str, acting: Acting = NEUTRAL) -> Entry | None:
        """The entry that still matches this line and its acting, if any (cheap: called on the runner's thread)."""
        sha = text_sha(line.text)
        for key in (entry_key(line.line_id, line.text, True), entry_key(line.line_id, line.text, False)):
            entry = self.manifest.entries.get(key)
            if entry is not None and entry.text_sha == sha and entry.character_id == line.character_id \
                    and entry.voice_id == voice_id and entry.settings.get("emotion", "") == acting.emotion \
                    and entry.settings.get("effect", "") == acting.effect:
                return entry
        return None

    def audio(self, entry: Entry) -> AudioChunk | None:
        """The entry's audio; None (logged) when its file is missing or damaged."""
        path = self.folder / entry.file
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("voice pack file %s cannot be read: %s", path, exc)
            return None
        if hashlib.sha256(data).hexdigest() != entry.file_sha:
            log.warning("voice pack file %s is damaged (its SHA-256 differs from the manifest)", path)
            return None
        with self.lock:
            kept = self.decoded.get(entry.file_sha)
            if kept is not None:
                self.decoded.move_to_end(entry.file_sha)
                return kept
        audio = decode(data)
        with self.lock:
            if entry.file_sha not in self.decoded:
                self.decoded[entry.file_sha] = audio
                self.decoded_bytes += audio.samples.nbytes
            while self.decoded_bytes > DECODED_BYTES and len(self.decoded) > 1:
                self.decoded_bytes -= self.decoded.popitem(last=False)[1].samples.nbytes
        return audio
