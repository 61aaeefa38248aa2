"""`engine render` and `engine pack verify`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from engine import Config, load_story
from engine.formats.registry import known_formats
from plugins.voice.core.settings import ENGINES, voice_settings
from plugins.voice.render.estimate import estimate
from plugins.voice.render.render import Renderer, RenderJob
from plugins.voice.render.writing import Report
from plugins.voice.store.manifest import FORMATS, Manifest, file_sha_matches, text_sha


def register(subparsers: Any) -> Any:
    """Adds `render` and `pack verify`; returns the `pack` actions, for others (`pack status`, tools/script.py)."""
    render = subparsers.add_parser("render", help="render every reachable line into a voice pack")
    render.add_argument("story", metavar="STORY_DIR", type=Path)
    render.add_argument("--engine", choices=ENGINES, help="render every character with this engine "
                                                           "(default: each profile's own)")
    render.add_argument("--out", type=Path, metavar="DIR", help="the pack's folder (default packs/<story>)")
    render.add_argument("--format", dest="audio_format", choices=sorted(FORMATS), help="opus (default: small, "
                        "for players) or flac (lossless: the engine's exact samples)")
    render.add_argument("--dry-run", action="store_true", help="say what would be rendered and how long it would take")
    render.add_argument("--ray", metavar="auto|ADDRESS", help="spread the render over Ray: 'auto' starts a local "
                        "cluster, an address joins a running one (extra [render])")
    render.add_argument("--workers", type=int, default=0, metavar="N",
                        help="Ray workers (default: one per CPU, or per GPU for XTTS)")
    render.add_argument("--no-gate", action="store_true", help="keep every first take unchecked "
                        "(default: the quality gate of [voice.quality] checks each take; extra [quality])")
    render.set_defaults(handler=render_command)

    pack = subparsers.add_parser("pack", help="check a voice pack against its story")
    actions = pack.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="report missing, stale and damaged entries (exit 1 if any)")
    verify.add_argument("story", metavar="STORY_DIR", type=Path)
    verify.add_argument("--pack", type=Path, metavar="DIR", help="the pack's folder (default packs/<story>)")
    verify.add_argument("--engine", choices=ENGINES, help="the engine it was rendered with, as given to render")
    verify.set_defaults(handler=verify_command)
    return actions


def pack_folder(given: Path | None, config: Config, slug: str) -> Path:
    return given if given is not None else config.folder / "packs" / slug


def render_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    settings = voice_settings(config)
    story = load_story(args.story, known_formats(pm))
    folder = pack_folder(args.out, config, story.slug)
    job = RenderJob(story, settings, folder, args.audio_format or settings.render.format, args.engine, args.ray,
              args.workers, settings.render.max_states, settings.quality.render and not args.no_gate)
    renderer = Renderer(job)
    if args.dry_run:
        return _dry_run(renderer, job)
    reach, plan = renderer.plan()  # bad input is one sentence before any progress bar
    where = f"on Ray ({args.ray})" if args.ray else "in this process"
    print(f"Rendering {story.slug}: {sum(len(s.entries) for s in plan.todo)} entr(ies) to make as {len(plan.todo)} "
          f"synthesis(es), {plan.fresh} up to date, {where}.", flush=True)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as bar:
        task = bar.add_task(f"rendering {story.slug}", total=None)
        report = renderer.run(lambda done, total: bar.update(task, completed=done, total=total), (reach, plan))
    _summary(report, folder)
    return 1 if report.failed else 0


def _dry_run(renderer: Renderer, job: RenderJob) -> int:
    reach, plan = renderer.plan()
    entries = sum(len(s.entries) for s in plan.todo)
    words = sum(len(s.text.split()) for s in plan.todo)
    print(f"{job.story.slug}: {len(plan.wanted)} line(s) reachable ({_coverage(reach)}); {plan.fresh} up to date in "
          f"{job.folder}, {entries} to render as {len(plan.todo)} synthesis(es) ({words} words), "
          f"{len(plan.orphans)} no longer reachable.")
    if plan.todo:
        per_char, source = estimate(renderer, plan)
        seconds = per_char * sum(len(s.text) for s in plan.todo)
        print(f"About {_duration(seconds)} of synthesis on one worker ({source}); n workers take about 1/n of it.")
    return 0


def _summary(report: Report, folder: Path) -> None:
    rate = report.made / report.wall * 60 if report.wall else 0.0
    print(f"Rendered {report.written} entr{'y' if report.written == 1 else 'ies'} ({report.made} synthesis(es), "
          f"{report.recorded} from recorded takes, "
          f"{report.audio_seconds / 60:.1f} min of audio) into {folder} in {report.wall:.1f} s "
          f"({rate:.0f} lines/min on {report.workers} worker(s)); {report.plan.fresh} were up to date, "
          f"{report.removed} removed, {len(report.failed)} failed; {_coverage(report.reach)}.")
    if report.gated or report.retakes:
        print(f"Quality gate: {report.retakes} take(s) made again; {len(report.gated)} entr(ies) kept with faults "
              "(no take passed; the best was kept, its scores are in the manifest).")
        for key, faults in report.gated[:10]:
            print(f"  {key}: {'; '.join(faults)}", file=sys.stderr)
    if report.lost:
        print(f"{report.lost} worker(s) were lost mid-render; their lines were made again.")
    for key, reason in report.failed[:10]:
        print(f"  {key}: {reason}", file=sys.stderr)
    for line_id, texts in sorted(report.reach.variants.items())[:5]:
        print(f"  {line_id} is said with {len(texts)} texts; each has its own entry.")


def _coverage(reach: Any) -> str:
    state = "every branch walked" if reach.complete else "the walk stopped at its bound: some lines may be missing"
    return f"{reach.states} choice point(s), {len(reach.endings)} ending(s), {state}"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def _available(renderer: Renderer, name: str) -> bool:
    """Whether the signature can be told here: an engine with no model has no identity to compare."""
    engine = renderer.engines.get(name)
    return engine is not None and engine.missing() is None


def verify_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    settings = voice_settings(config)
    story = load_story(args.story, known_formats(pm))
    folder = pack_folder(args.pack, config, story.slug)
    manifest = Manifest.read(folder)
    if manifest is None:
        print(f"{folder}: no voice pack here (no manifest.json); make one with 'engine render {args.story}'.")
        return 1
    renderer = Renderer(RenderJob(story, settings, folder, manifest.audio, args.engine, None, 0, settings.render.max_states))
    reach, plan = renderer.plan(prepare=False)
    problems = []
    for wanted in plan.wanted:
        entry = manifest.entries.get(wanted.key)
        if entry is None:
            problems.append(f"{wanted.key}: missing (\"{wanted.text[:40]}\")")
        elif entry.text_sha != text_sha(wanted.text) or entry.character_id != wanted.character_id \
                or entry.voice_id != wanted.voice.voice_id:
            problems.append(f"{wanted.key}: stale: the story's line or voice changed since it was rendered")
        elif not file_sha_matches(folder / entry.file, entry.file_sha):
            problems.append(f"{wanted.key}: damaged: {entry.file} is missing or does not match the manifest")
        elif entry.signature != wanted.signature and _available(renderer, entry.engine):
            problems.append(f"{wanted.key}: stale: rendered with another engine, model, reference or settings")
    for line in problems:
        print(f"{folder}/{line}")
    print(f"{folder}: {len(plan.wanted)} line(s) checked, {len(problems)} problem(s), {len(plan.orphans)} entr(ies) "
          f"no longer reachable; {_coverage(reach)}.")
    return 1 if problems else 0
