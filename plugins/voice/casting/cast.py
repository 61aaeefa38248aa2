"""Who speaks: character_id -> voice_id -> Voice, and where its reference WAVs live.

Resolution order (never from display names or text):
1) the profile's `voice_id`; 2) `voices/voice_map.json[character_id]`; 3) MissingVoice.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import SpokenLine, Story
from engine.core.model import Line
from plugins.voice.casting.references import BadReference, ReferenceStore
from plugins.voice.casting.seed_texts import profile_seed_text
from plugins.voice.core.acting import NEUTRAL, Acting, Directions
from plugins.voice.core.errors import MissingVoice, UnsafePath, VoiceError
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.core.voice import Voice
from plugins.voice.engines.cloning import Choice, cloning_engine

VOICE_MAP = "voice_map.json"
ENGINE_VOICE_KEYS = {"edge": "edge_voice", "piper": "piper_voice", "kokoro": "kokoro_voice"}


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


def profile_references(voices_dir: Path, voice_id: str, profile: Mapping[str, Any]) -> tuple[Path, ...]:
    """The profile's voice_clone_ref (one path or a list), else voices/<voice_id>.wav."""
    refs = profile.get("voice_clone_ref")
    names = [refs] if isinstance(refs, str) and refs else refs if isinstance(refs, list) and refs else []
    return tuple(safe_path(voices_dir, str(name)) for name in names or [f"{voice_id}.wav"])


def emotion_references(references: tuple[Path, ...], emotion: str) -> tuple[Path, ...]:
    """An emotion's own recordings of a voice: voices/fred.wav -> voices/fred@angry.wav (none for neutral)."""
    return tuple(p.with_name(f"{p.stem}@{emotion}{p.suffix}") for p in references) if emotion else ()


@dataclass(frozen=True)
class ReferenceChange:
    users: list[str]  # the characters whose reference this file is
    new_voice: bool  # a different recording was accepted: their voice changed
    removed: bool  # the file is gone: they lose their cloned voice


def build_cast(story: Story, settings: VoiceSettings, voice_map: dict[str, str]) -> Cast:
    """The one way a Cast is made (play, `engine check`, `engine say`)."""
    return Cast(story, settings.voices_dir, settings.engine, voice_map, ReferenceStore(settings.checked_dir),
                settings.acting(), cloning_engine(settings))


class Cast:
    """The story's characters with their resolved voices; updated live when voices/ changes."""

    def __init__(self, story: Story, voices_dir: Path, default_engine: str, voice_map: dict[str, str],
                 store: ReferenceStore, directions: Directions | None = None, cloning: Choice | None = None) -> None:
        self.story = story
        self.cloning = cloning  # which model speaks the characters whose engine is xtts
        self.voices_dir = voices_dir
        self.default_engine = default_engine
        self.voice_map = dict(voice_map)
        self.store = store
        self.order = sorted(story.characters)
        self.seed_failed: set[str] = set()
        self.lock = threading.Lock()
        self.directions = directions or Directions()

    def profile(self, character_id: str) -> Mapping[str, Any]:
        character = self.story.characters.get(character_id)
        return character.profile if character else {}

    def seed_text(self, character_id: str) -> str:
        """What VoiceSeeder has the character say for its reference (the quality gate's reference text)."""
        language = str(self.profile(character_id).get("language") or self.story.language)
        return profile_seed_text(character_id, self.profile(character_id), language)

    def voice_id(self, character_id: str) -> str:
        with self.lock:
            voice_id = self.profile(character_id).get("voice_id") or self.voice_map.get(character_id)
        if not isinstance(voice_id, str) or not voice_id:
            raise MissingVoice(character_id)
        return voice_id

    def voice_for_line(self, line: Line | SpokenLine) -> Voice:
        """The voice of the line's speaker as its directions ask (an emotion, an effect)."""
        return self.voice_for(line.character_id, self.directions.of(line))

    def voice_for(self, character_id: str, acting: Acting = NEUTRAL) -> Voice:
        voice_id = self.voice_id(character_id)
        profile = self.profile(character_id)
        neutral = profile_references(self.voices_dir, voice_id, profile)
        acted = [a for a in map(self.store.get, emotion_references(neutral, acting.emotion)) if a is not None]
        accepted = acted or [a for a in map(self.store.get, neutral) if a is not None]
        names = {engine: str(profile[key]) for engine, key in ENGINE_VOICE_KEYS.items() if profile.get(key)}
        digest = hashlib.sha256("".join(a.sha256 for a in accepted).encode()).hexdigest() if accepted else None
        engine = str(profile.get("engine") or self.default_engine)
        if self.cloning is not None and engine == "xtts":  # a cloning character; one that names pocket keeps it
            engine = self.cloning.engine
        return Voice(
            character_id=character_id,
            voice_id=voice_id,
            engine=engine,
            language=str(profile.get("language") or self.story.language),
            speed=float(profile.get("speed") or 1.0),
            variant=self.order.index(character_id) if character_id in self.order else len(self.order),
            names=names,
            references=tuple(a.path for a in accepted),
            reference_hash=digest,
            seed_failed=character_id in self.seed_failed,
            acting=acting,
            acted_reference=bool(acted),
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

    def reference_paths(self) -> dict[Path, list[str]]:
        """Every reference WAV path the cast uses, its emotions' too, with the characters using it."""
        paths: dict[Path, list[str]] = {}
        for character_id in self.order:
            try:
                neutral = profile_references(self.voices_dir, self.voice_id(character_id), self.profile(character_id))
                for path in (*neutral, *(p for e in self.directions.emotions for p in emotion_references(neutral, e))):
                    paths.setdefault(path, []).append(character_id)
            except VoiceError:
                continue
        return paths

    def check_references(self, notify: Callable[[str], None]) -> None:
        """Checks every reference WAV present now; refusals are shown and the voice has no reference."""
        for path in self.reference_paths():
            if path.is_file():
                self.reference_changed(path, notify)

    def reference_changed(self, path: Path, notify: Callable[[str], None]) -> ReferenceChange:
        """A reference WAV appeared, changed or vanished: what that does to the characters using it."""
        users = self.reference_paths().get(path, [])
        before = self.store.get(path)
        if not path.is_file():
            if self.store.forget(path):
                voice_id, _, emotion = path.stem.partition("@")
                notify(f"{path.name} was removed; {', '.join(users) or 'nobody'} will use another engine." if not emotion
                       else f"{path.name} was removed; {emotion} lines are cloned from {voice_id}'s neutral recording.")
            return ReferenceChange(users, new_voice=False, removed=before is not None)
        try:
            after = self.store.accept(path)
        except BadReference as exc:
            kept = " The previous recording stays." if before else ""
            notify(f"{exc}.{kept}")
            return ReferenceChange(users, new_voice=False, removed=False)
        return ReferenceChange(users, new_voice=after != before, removed=False)

    def mark_seed_failed(self, character_id: str) -> None:
        """VoiceSeeder could not make this character's reference: cloning engines pass it over."""
        with self.lock:
            self.seed_failed.add(character_id)

    def set_voice_map(self, voice_map: dict[str, str]) -> None:
        with self.lock:
            self.voice_map = dict(voice_map)
