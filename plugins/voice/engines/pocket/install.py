"""`engine models install pocket --from DIR [--language L]`: the release's files, checked and copied in.

Kyutai publishes the weights on Hugging Face: the cloning model at https://huggingface.co/kyutai/pocket-tts
(its page asks you to accept its terms before the files download; the release without cloning,
kyutai/pocket-tts-without-voice-cloning, cannot clone our characters), `languages/<language>/model.safetensors`
and the tokenizer beside it. We never fetch them: you download them, then install the folder.
"""

from __future__ import annotations

from pathlib import Path

from plugins.voice.engines.models import POCKET, ModelError, install, sha256_of
from plugins.voice.engines.pocket.loading import LANGUAGES, TOKENIZERS, check_fits, package_config

POCKET_SOURCE = ("Download languages/<language>/model.safetensors and its tokenizer from "
                 "https://huggingface.co/kyutai/pocket-tts (accept the terms on that page first, logged in) into DIR.")
# Weights of releases checked by hand: SHA-256 -> (size in bytes, what it is). Fill it from the files' "Git LFS
# details" on the model page. Weights not listed (a smaller English model, a model trained elsewhere) install with
# their hashes recorded, and the install says they are not a listed release.
RELEASES: dict[str, tuple[int, str]] = {}


def release_of(path: Path) -> str | None:
    """What release `path` is, or None if it is not listed; ModelError if its size is not the listed one."""
    known = RELEASES.get(sha256_of(path))
    if known is None:
        return None
    if path.stat().st_size != known[0]:
        raise ModelError(f"{path} has the SHA-256 of {known[1]} but not its size; download it again.")
    return known[1]


def install_pocket(source: Path, target: Path, language: str) -> dict[str, str]:
    """Copies DIR's model into `target` (with the package's config for `language` unless DIR has one)."""
    if not source.is_dir():
        raise ModelError(f"{source} is not a folder holding the Pocket TTS files. {POCKET_SOURCE}")
    if not any((source / name).is_file() for name in TOKENIZERS):
        raise ModelError(f"{source} lacks the tokenizer (tokenizer.json or tokenizer.model). {POCKET_SOURCE}")
    if language not in LANGUAGES:
        raise ModelError(f"Pocket TTS speaks {', '.join(LANGUAGES)}, not {language!r}.")
    config = source / "config.yaml" if (source / "config.yaml").is_file() else package_config(language)
    tokenizer = next(source / name for name in TOKENIZERS if (source / name).is_file())
    weights = source / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{source} lacks model.safetensors. {POCKET_SOURCE}")
    check_fits(config, tokenizer, weights)
    return install(POCKET, source, target, defaults={"config.yaml": config})
