"""`engine voices list` (who speaks each character, and which model clones), `engine voices seed` (a reference WAV
per character, made by Piper) and `engine voices report` (how distinct the cast sounds, through the quality gate)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from engine import Config, load_story
from engine.formats.registry import known_formats
from plugins.voice.casting.assembly import assemble
from plugins.voice.casting.seeder import SEED_FAILED, VoiceSeeder
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import ENGINES, voice_settings
from plugins.voice.engines.cloning import CLONING_ENGINES
from plugins.voice.listening.transcriber import Transcriber


def register(subparsers: Any) -> None:
    voices = subparsers.add_parser("voices", help="make and manage reference voices")
    voice_actions = voices.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = voice_actions.add_parser("list", help="each character's voice and engine, and which model clones")
    listing.add_argument("story", type=Path, metavar="STORY_DIR")
    listing.set_defaults(handler=list_command)
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


def list_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    settings = voice_settings(config)
    cast = assemble(load_story(args.story, known_formats(pm)), settings).cast
    table = Table(title=f"voices of {args.story.name}")
    for column in ("character", "voice", "engine", "reference"):
        table.add_column(column)
    for character_id in cast.order:
        try:
            voice = cast.voice_for(character_id)
        except VoiceError as exc:
            table.add_row(character_id, "-", "-", str(exc))
            continue
        reference = ", ".join(path.name for path in voice.references) or ("none yet" if voice.engine in CLONING_ENGINES
                                                                          else "-")
        table.add_row(character_id, voice.voice_id, voice.engine, reference)
    console = Console(highlight=False)
    console.print(table)
    if cast.cloning is not None:
        other = "xtts" if cast.cloning.engine == "pocket" else "pocket"
        console.print(f"Cloning model: {cast.cloning.engine} ({cast.cloning.reason}). "
                      f'[voice] cloning = "{other}" picks the other one.', markup=False)
    return 0


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
    from plugins.voice.render.render import Renderer, RenderJob
    from plugins.voice.tools.report import make_report, write_html

    settings = voice_settings(config)
    story = load_story(args.story, known_formats(pm))
    renderer = Renderer(RenderJob(story, settings, Path(os.devnull), engine=args.engine,
                            max_states=settings.render.max_states))
    gate = QualityGate(replace(settings.quality, speaker=True), Transcriber(settings.speech_input), renderer.speakers)
    gate.require()
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
