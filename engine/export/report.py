"""What `engine export --web` says it made: one table (lines, with and without audio, sizes), the lines without
audio listed in a file with why, and the zip for itch.io."""

from __future__ import annotations

import zipfile
from pathlib import Path

from engine.core.files import write_atomic
from engine.core.model import Story
from engine.export.audio import ExportedAudio

MISSING = "lines-without-audio.txt"


def report(out: Path, story: Story, audio: ExportedAudio) -> str:
    lines = audio.reachable
    voiced = sum(len(texts) for texts in audio.files.values())
    files = [path for path in out.rglob("*") if path.is_file()]
    sounds = [path for path in (out / "audio").rglob("*") if path.is_file()]
    largest = max(sounds, key=lambda path: path.stat().st_size, default=None)
    listed = "".join(f"{line_id}\t{why}\t{text}\n" for line_id, text, why in audio.missing)
    write_atomic(out / MISSING, listed.encode())
    rows = [("lines", str(lines)), ("lines with audio", str(voiced)),
            ("lines without", f"{lines - voiced}" + (f" (listed in {out / MISSING})" if audio.missing else "")),
            ("total size", _size(sum(path.stat().st_size for path in files))),
            ("audio", _size(sum(path.stat().st_size for path in sounds))),
            ("largest line", f"{largest.name} {_size(largest.stat().st_size)}" if largest else "-")]
    width = max(len(name) for name, _ in rows)
    table = "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)
    return f"Exported '{story.title}' to {out} (open index.html through a web server, or upload the folder):\n{table}"


def zip_folder(out: Path, target: Path) -> None:
    """The folder's files, index.html at the zip's root (itch.io looks for it there), written atomically."""
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as packed:
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            packed.write(path, path.relative_to(out).as_posix())
    partial.replace(target)


def _size(count: int) -> str:
    return f"{count / 1e6:.2f} MB" if count >= 1e5 else f"{count / 1e3:.1f} kB"
