"""Installed model files with a SHA-256 manifest: copied in once, verified before every load."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine import write_atomic
from plugins.voice.errors import VoiceError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ModelKind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


XTTS = ModelKind("xtts", ("config.json", "model.pth", "vocab.json"),
                 ("speakers_xtts.pth", "dvae.pth", "mel_stats.pth"))


class ModelError(VoiceError):
    """A model directory that is missing, incomplete or changed since it was installed."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install(kind: ModelKind, source: Path, target: Path) -> dict[str, str]:
    """Copies the model files from `source` into `target` and records their SHA-256."""
    if not source.is_dir():
        raise ModelError(f"{source} is not a folder holding the {kind.name} files.")
    missing = [name for name in kind.required if not (source / name).is_file()]
    if missing:
        raise ModelError(f"{source} lacks {', '.join(missing)} (the {kind.name} model needs "
                         f"{', '.join(kind.required)}).")
    target.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name in kind.required + kind.optional:
        if (source / name).is_file():
            part = target / f".{name}.part"
            shutil.copyfile(source / name, part)
            part.replace(target / name)
            hashes[name] = sha256_of(target / name)
    record = {"kind": kind.name, "files": hashes}
    write_atomic(target / MANIFEST, json.dumps(record, indent=2).encode())
    return hashes


def verify(kind: ModelKind, folder: Path) -> dict[str, str]:
    """Checks every file against the manifest; raises ModelError naming what is wrong."""
    if not folder.is_dir():
        raise ModelError(f"No {kind.name} model in {folder}; install one with "
                         f"'engine models install {kind.name} --from DIR'.")
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = dict(record["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError(f"{folder} has no valid {MANIFEST}; install the model with "
                         f"'engine models install {kind.name} --from DIR'.") from None
    for name in kind.required:
        if name not in files:
            raise ModelError(f"The {kind.name} manifest in {folder} does not list {name}; install the model again.")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{path} is missing; install the {kind.name} model again.")
        if sha256_of(path) != expected:
            raise ModelError(f"{path} changed since it was installed (SHA-256 differs); refusing to load it. "
                             f"Install the model again if you replaced it on purpose.")
    return files
