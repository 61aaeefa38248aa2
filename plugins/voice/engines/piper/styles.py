"""voices/piper_voices.toml: how each voice_id is made with Piper, in one readable place.

    [god_deep]
    model = "en_US-joe-medium"   # a bundled or voices/piper/ model
    speaker = 0                  # for multi-speaker models
    length_scale = 1.08          # > 1 speaks slower
    pitch = 0.86                 # < 1 lower, > 1 higher (a resampling of Piper's output)

Used to seed reference WAVs (VoiceSeeder) and by the piper engine at run time.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from engine import write_atomic
from plugins.voice.core.errors import VoiceError

HEADER = "# How each voice_id is made with Piper (seeding and the piper engine). Edit freely.\n"


@dataclass(frozen=True)
class PiperStyle:
    model: str
    speaker: int | None = None
    length_scale: float = 1.0
    pitch: float = 1.0


def read_styles(path: Path) -> dict[str, PiperStyle]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return {voice_id: _style(table) for voice_id, table in data.items()}
    except (tomllib.TOMLDecodeError, TypeError, ValueError, KeyError) as exc:
        raise VoiceError(f"{path} is not a valid Piper voices file ({exc}).") from None


def _style(table: dict[str, object]) -> PiperStyle:
    speaker = table.get("speaker")
    return PiperStyle(
        model=str(table["model"]),
        speaker=int(speaker) if isinstance(speaker, int) else None,
        length_scale=float(table.get("length_scale", 1.0)),  # type: ignore[arg-type]
        pitch=float(table.get("pitch", 1.0)),  # type: ignore[arg-type]
    )


def write_styles(path: Path, styles: dict[str, PiperStyle]) -> None:
    lines = [HEADER]
    for voice_id in sorted(styles):
        lines.append(f"\n[{voice_id}]\n")
        for key, value in asdict(styles[voice_id]).items():
            if value is not None:
                lines.append(f'{key} = "{value}"\n' if isinstance(value, str) else f"{key} = {value}\n")
    write_atomic(path, "".join(lines).encode())
