"""What a plugin hands `engine export --web` for the lines' audio (engine_export_audio)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportedAudio:
    """`files`: line id -> the line's text -> its MP3, relative to the export's audio folder (a line said with
    several texts has one file per text). `missing`: (line id, text, why) for each reachable line without audio.
    `reachable`: how many lines (texts) the story can reach."""

    files: dict[str, dict[str, str]] = field(default_factory=dict)
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    reachable: int = 0
