"""Errors of the voice plugin; each carries what the player or author needs."""

from __future__ import annotations

from engine import EngineError


def install_extra(extra: str) -> str:
    """How to add an extra to an install, at the versions the project's lock pins (run in the project's folder)."""
    return f"pip install -c requirements.lock 'voiced-if[{extra}]'"


class VoiceError(EngineError):
    """Base of every expected voice failure."""


class MissingVoice(VoiceError):
    def __init__(self, character_id: str) -> None:
        self.character_id = character_id
        super().__init__(f"missing voice_id for character_id {character_id}")


class UnsafePath(VoiceError):
    def __init__(self, path: str, folder: str) -> None:
        self.path = path
        super().__init__(f"'{path}' must stay inside {folder}/ (no absolute paths, '..' or links out of it)")


class SpeechFailure(VoiceError):
    """An engine could not speak a line. `down` is the fallback policy for the whole family:
    True takes the engine out of use (for every voice) until a re-probe brings it back;
    False passes only this line (or this voice) to the next engine."""

    down = True

    def __init__(self, engine: str, reason: str) -> None:
        self.engine = engine
        self.reason = reason
        super().__init__(f"{engine}: {reason}")


class EngineUnavailable(SpeechFailure):
    """An engine cannot speak now (extra missing, model missing, offline, refused, timed out...)."""


class SynthesisFailed(SpeechFailure):
    """An engine failed in the middle of a line; the line is spoken again by the next engine."""


class VoiceNotSupported(SpeechFailure):
    """The engine works, but not for this voice (no reference WAV, a language it cannot speak).

    Only this character's lines go to the next engine; the engine stays up for the others."""

    down = False


class Preempted(SpeechFailure):
    """A background synthesis (prefetch) gave way to the line being spoken; it is tried again later."""

    down = False


class NoAudioDevice(SpeechFailure):
    """The sound card cannot be opened or written; the story goes on as text (and --record records)."""

    def __init__(self, reason: str) -> None:
        super().__init__("sink", reason)

    def __str__(self) -> str:
        return self.reason


class VoiceConfigError(VoiceError):
    """A bad value in the [voice] part of config.toml."""


class Stalled(SpeechFailure):
    """The engine kept its reader waiting longer than the reader's budget (core/budget.py): it is given up
    for this line (its stream cancelled) and taken out of use until a re-probe brings it back."""

    def __init__(self, engine: str, reason: str, waited: float) -> None:
        self.waited = waited
        super().__init__(engine, reason)


class Outwaited(Stalled):
    """An engine tried on a cut line with too little of its silence budget left to judge it (not heard in
    time, or none left at all): passed over for this line only; it stays in use, not shown to be stuck."""

    down = False
