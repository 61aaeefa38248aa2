"""Checks the voice fields of character profiles (for `engine check` and before play)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine import Problem, Story
from engine.core.model import Source
from plugins.voice.casting.cast import Cast, profile_references
from plugins.voice.casting.references import BadReference, check
from plugins.voice.core.acting import Directions
from plugins.voice.core.errors import UnsafePath, VoiceError
from plugins.voice.core.settings import ENGINES, VoiceSettings
from plugins.voice.engines.cloning import CLONING_ENGINES
from plugins.voice.engines.kokoro import LANGUAGES as KOKORO_LANGUAGES
from plugins.voice.engines.kokoro import voices_on_disk
from plugins.voice.engines.piper.models import PiperModels
from plugins.voice.engines.pocket.loading import LANGUAGES as POCKET_LANGUAGES
from plugins.voice.engines.pocket.loading import language_code
from plugins.voice.engines.xtts.engine import XTTS_LANGUAGES


def _line_of(path: Path, key: str) -> int:
    text = path.read_text(encoding="utf-8", errors="replace")
    match = re.search(rf'^\s*"{re.escape(key)}"\s*:', text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def profile_problems(story: Story, cast: Cast, settings: VoiceSettings) -> list[Problem]:
    problems: list[Problem] = []
    piper_voices = PiperModels(settings.piper).files()
    kokoro_voices: list[str] | None = None  # read once, only when a profile names a kokoro_voice
    for character in story.characters.values():
        profile, path = character.profile, character.path

        def bad(key: str, message: str, severity: str = "error", path: Path = path) -> None:
            problems.append(Problem(path, _line_of(path, key), message, severity))

        _check_types(profile, bad)
        try:
            voice_id = cast.voice_id(character.character_id)
            references = profile_references(cast.voices_dir, voice_id, profile)
        except UnsafePath as exc:
            bad("voice_clone_ref", f"voice_clone_ref {exc}")
            continue
        except VoiceError as exc:
            bad("voice_id", str(exc))
            continue
        engine = profile.get("engine") or settings.engine
        for reference in references:
            if reference.is_file():
                try:
                    check(reference)  # the same checks as before play and on hot reload
                except BadReference as exc:
                    bad("voice_clone_ref" if profile.get("voice_clone_ref") else "voice_id",
                        f"reference WAV {reference} refused: {exc.reason}")
        absent = [path.name for path in references if not path.exists()]
        if engine in CLONING_ENGINES and absent:
            bad("voice_clone_ref", f"reference WAV {', '.join(absent)} is not in {settings.voices_dir.name}/ yet; "
                "another engine will speak for now", "warning")
        language = profile.get("language") or story.language
        if engine == "xtts" and language not in XTTS_LANGUAGES:
            bad("language", f"XTTS cannot speak language {language!r} (it speaks {', '.join(XTTS_LANGUAGES)})")
        if engine == "pocket" and not language_code(language):
            bad("language", f"Pocket TTS cannot speak language {language!r} (it speaks {', '.join(POCKET_LANGUAGES)})")
        if engine == "kokoro" and language not in KOKORO_LANGUAGES:
            bad("language", f"Kokoro cannot speak language {language!r} (it speaks {', '.join(KOKORO_LANGUAGES)})")
        kokoro_voice = profile.get("kokoro_voice")
        if kokoro_voice:
            kokoro_voices = kokoro_voices if kokoro_voices is not None else voices_on_disk(settings.kokoro)
            if kokoro_voices and kokoro_voice not in kokoro_voices:
                bad("kokoro_voice", f"Kokoro voice '{kokoro_voice}' is not in its voices file "
                    f"(known: {', '.join(kokoro_voices)})")
        piper_voice = str(profile.get("piper_voice") or "").partition("#")[0]
        if piper_voice and piper_voice not in piper_voices:
            bad("piper_voice", f"Piper voice '{piper_voice}' is not installed (known: {', '.join(piper_voices)})")
    return problems


def _check_types(profile: dict[str, Any] | Any, bad: Any) -> None:
    engine = profile.get("engine")
    if engine is not None and engine not in ENGINES:
        bad("engine", f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    speed = profile.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4):
        bad("speed", f"speed must be a number from 0.25 to 4, not {speed!r}")
    seconds = profile.get("voice_seed_seconds_target")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0):
        bad("voice_seed_seconds_target", "voice_seed_seconds_target must be a positive number of seconds")
    refs = profile.get("voice_clone_ref")
    listed = isinstance(refs, list) and all(isinstance(r, str) for r in refs)
    if refs is not None and not (isinstance(refs, str) or listed):
        bad("voice_clone_ref", "voice_clone_ref must be a path in voices/ or a list of them")
    for key in ("voice_id", "voice_seed_text", "language", "edge_voice", "piper_voice",
                "kokoro_voice"):
        if key in profile and not isinstance(profile[key], str):
            bad(key, f"{key} must be a string")


def direction_problems(story: Story, directions: Directions) -> list[Problem]:
    """Directions, qualifiers and `vo:` tags no table maps: warned once each, where first written."""
    first: dict[str, tuple[Source, int]] = {}
    for line in story.format.lines(story):
        for word in directions.of(line).unknown:
            where, count = first.get(word.lower(), (line.source, 0))
            first[word.lower()] = (where, count + 1)
    return [Problem(where.path, where.line, f"the direction '({word})'{f' ({count} lines)' if count > 1 else ''} "
                    "means nothing to the voices, so it is shown but not acted; map it to an emotion in "
                    "[voice.directions] (or to \"\" if it only blocks the scene)", "warning")
            for word, (where, count) in first.items()]
