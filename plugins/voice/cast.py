"""Who speaks: character_id -> voice_id -> Voice, and where its reference WAV lives.

Resolution order (never from display names or text):
1) the profile's `voice_id`; 2) `voices/voice_map.json[character_id]`; 3) MissingVoice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import Story
from plugins.voice.errors import MissingVoice, UnsafePath, VoiceError

VOICE_MAP = "voice_map.json"
ENGINE_VOICE_KEYS = {"edge": "edge_voice", "piper": "piper_voice", "kokoro": "kokoro_voice"}


@dataclass(frozen=True)
class Voice:
    """Everything that decides how one character sounds."""

    character_id: str
    voice_id: str
    engine: str  # the engine the profile asks for
    language: str
    speed: float
    variant: int  # the character's place in the cast: picks a distinct default voice on each engine
    names: Mapping[str, str] = field(default_factory=dict)  # per-engine voice names from the profile
    references: tuple[Path, ...] = ()  # reference WAVs for cloning engines (those that exist)
    reference_hash: str | None = None  # sha256 over their contents, None if there are none


def safe_path(folder: Path, relative: str) -> Path:
    """`folder/relative`, refusing absolute paths, '..' and symlinks that lead outside `folder`."""
    candidate = Path(relative)
    if candidate.parts and candidate.parts[0] == folder.name:
        candidate = Path(*candidate.parts[1:])  # "voices/x.wav" means x.wav in voices/
    if candidate.is_absolute() or ".." in candidate.parts or not candidate.parts:
        raise UnsafePath(relative, folder.name)
    path = folder / candidate
    if not path.resolve().is_relative_to(folder.resolve()):
        raise UnsafePath(relative, folder.name)
    return path


def read_voice_map(voices_dir: Path) -> dict[str, str]:
    path = voices_dir / VOICE_MAP
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VoiceError(f"{path} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise VoiceError(f"{path} must map character_id to voice_id (strings only).")
    return data


class Cast:
    """The story's characters with their resolved voices."""

    def __init__(self, story: Story, voices_dir: Path, default_engine: str, voice_map: dict[str, str]) -> None:
        self.story = story
        self.voices_dir = voices_dir
        self.default_engine = default_engine
        self.voice_map = voice_map
        self.order = sorted(story.characters)
        self._hashes: dict[tuple[Path, int, int], str] = {}

    def voice_id(self, character_id: str) -> str:
        character = self.story.characters.get(character_id)
        profile = character.profile if character else {}
        voice_id = profile.get("voice_id") or self.voice_map.get(character_id)
        if not isinstance(voice_id, str) or not voice_id:
            raise MissingVoice(character_id)
        return voice_id

    def references(self, voice_id: str, profile: Mapping[str, Any]) -> tuple[Path, ...]:
        """The profile's voice_clone_ref (one path or a list), else voices/<voice_id>.wav."""
        refs = profile.get("voice_clone_ref")
        names = [refs] if isinstance(refs, str) and refs else refs if isinstance(refs, list) and refs else []
        return tuple(safe_path(self.voices_dir, str(name)) for name in names or [f"{voice_id}.wav"])

    def voice_for(self, character_id: str) -> Voice:
        voice_id = self.voice_id(character_id)
        character = self.story.characters.get(character_id)
        profile: Mapping[str, Any] = character.profile if character else {}
        references = tuple(path for path in self.references(voice_id, profile) if path.is_file())
        names = {engine: str(profile[key]) for engine, key in ENGINE_VOICE_KEYS.items() if profile.get(key)}
        return Voice(
            character_id=character_id,
            voice_id=voice_id,
            engine=str(profile.get("engine") or self.default_engine),
            language=str(profile.get("language") or self.story.language),
            speed=float(profile.get("speed") or 1.0),
            variant=self.order.index(character_id) if character_id in self.order else len(self.order),
            names=names,
            references=references,
            reference_hash=self._hash(references),
        )

    def voices(self) -> list[Voice]:
        """Every character's voice that resolves (for preparing engines ahead of time)."""
        found = []
        for character_id in self.order:
            try:
                found.append(self.voice_for(character_id))
            except VoiceError:
                continue
        return found

    def _hash(self, paths: tuple[Path, ...]) -> str | None:
        digests = []
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                continue
            key = (path, stat.st_mtime_ns, stat.st_size)
            if key not in self._hashes:
                self._hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            digests.append(self._hashes[key])
        return hashlib.sha256("".join(digests).encode()).hexdigest() if digests else None
