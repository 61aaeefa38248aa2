"""Files: atomic writes (a reader sees the old file or the new one, never half of one), and text read
with a clear problem instead of an exception."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from engine.core.errors import Problem


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Writes `data` to a temporary file beside `path`, syncs it, then renames it into place. The file has
    `mode` from its first byte (a secret's 0o600 is never briefly wider: mkstemp makes it 0o600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """A text file's contents; a problem (with its line) for one that is not UTF-8 or cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        problems.append(Problem(path, data[: exc.start].count(b"\n") + 1, "this file is not UTF-8 text"))
        return data.decode("utf-8", errors="replace")
    except OSError as exc:
        problems.append(Problem(path, 1, f"cannot read: {exc.strerror}"))
    return None
