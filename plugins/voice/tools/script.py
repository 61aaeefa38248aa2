"""The road from synthetic to recorded voices: `engine script` (what the actors record) and `engine pack status`
(what is recorded, synthetic, stale or missing, per character). Both list every reachable line (a walk of the
story, as `engine render` does), in the order a player meets them."""

from __future__ import annotations

import argparse
import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import Config, Problem, Story, load_story, write_atomic
from engine.core.directions import shown
from engine.formats.explore import reachable_lines
from engine.formats.registry import known_formats
from plugins.voice.casting.cast import build_cast, read_voice_map
from plugins.voice.core.acting import Directions
from plugins.voice.core.errors import VoiceError, install_extra
from plugins.voice.core.settings import voice_settings
from plugins.voice.render.commands import pack_folder
from plugins.voice.store.manifest import Manifest, entry_key, text_sha
from plugins.voice.store.takes import TAKES, Takes

COLUMNS = ("line_id", "take_file", "character", "name", "actor", "text", "direction", "qualifier", "emotion",
           "effect", "tags", "comment", "alternate", "status", "take")
STATES = ("final", "recorded", "scratch", "stale", "synthetic", "missing")


@dataclass(frozen=True)
class Row:
    values: dict[str, str]

    @property
    def character(self) -> str:
        return self.values["character"]


def register(subparsers: Any, pack_actions: Any) -> None:
    script = subparsers.add_parser("script", help="write the recording script: every line an actor may record")
    script.add_argument("story", metavar="STORY_DIR", type=Path)
    script.add_argument("--out", type=Path, required=True, metavar="FILE.xlsx|FILE.csv")
    script.add_argument("--character", metavar="ID", help="only this character's lines")
    script.add_argument("--by-character", action="store_true", help="grouped by character (default: as met in play)")
    script.add_argument("--pack", type=Path, metavar="DIR", help="the voice pack (default packs/<story>)")
    script.set_defaults(handler=script_command)
    status = pack_actions.add_parser("status", help="per character: recorded, synthetic, stale and missing lines")
    status.add_argument("story", metavar="STORY_DIR", type=Path)
    status.add_argument("--pack", type=Path, metavar="DIR", help="the voice pack (default packs/<story>)")
    status.set_defaults(handler=status_command)


def rows(story: Story, directions: Directions, takes: Takes, manifest: Manifest | None) -> list[Row]:
    """One row per line and text (an ink shuffle's alternates each have one), silent cues left out."""
    reach = reachable_lines(story)
    written = {line.line_id: line for line in story.format.lines(story)}
    found = []
    for line in reach.lines:
        acting = directions.of(line)
        if acting.silent or not line.text:
            continue
        source = written.get(line.line_id)
        texts = list(source.alternates) if source and source.alternates else [line.text]  # the source's order
        texts += sorted(({line.text} | reach.variants.get(line.line_id, set())) - set(texts))
        character = story.characters.get(line.character_id)
        profile = character.profile if character else {}
        for number, text in enumerate(texts, start=1):
            key = entry_key(line.line_id, text, number == 1)
            status, take = _status(takes, manifest, line.line_id, line.character_id, key, text, number == 1)
            found.append(Row({
                "line_id": line.line_id, "take_file": f"{key}.wav", "character": line.character_id,
                "name": character.display_name if character else line.character_id,
                "actor": str(profile.get("actor") or ""), "text": text, "direction": shown(line.directions),
                "qualifier": line.qualifier, "emotion": acting.emotion, "effect": acting.effect,
                "tags": " ".join(f"#{tag}" for tag in line.tags), "comment": source.comment if source else "",
                "alternate": f"({number}/{len(texts)})" if len(texts) > 1 else "", "status": status, "take": take}))
    return found


def _status(takes: Takes, manifest: Manifest | None, line_id: str, character_id: str, key: str, text: str,
            first: bool) -> tuple[str, str]:
    candidates = takes.candidates(line_id, text, first)
    current = [take for take in candidates if not take.stale(text)]
    if current:
        return current[0].status, f"{current[0].status}/{current[0].path.name}"
    if candidates:
        return "stale", f"{candidates[0].status}/{candidates[0].path.name}"
    entry = manifest.entries.get(key) if manifest else None
    if entry is not None and entry.text_sha == text_sha(text) and entry.character_id == character_id:
        return "synthetic", ""
    return "missing", ""


def _gather(args: argparse.Namespace, config: Config, pm: Any) -> tuple[Story, list[Row], Takes]:
    settings = voice_settings(config)
    story = load_story(args.story, known_formats(pm))
    cast = build_cast(story, settings, read_voice_map(settings.voices_dir))
    takes = Takes(story.root / TAKES)
    try:
        manifest = Manifest.read(pack_folder(args.pack, config, story.slug))
    except VoiceError:
        manifest = None  # a damaged pack: its lines count as missing here; `engine pack verify` says why
    return story, rows(story, cast.directions, takes, manifest), takes


def script_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    story, found, takes = _gather(args, config, pm)
    if args.character:
        if args.character not in story.characters:
            raise VoiceError(f"{args.story} has no character '{args.character}' "
                             f"(known: {', '.join(story.characters)}).")
        found = [row for row in found if row.character == args.character]
    if args.by_character:
        found = sorted(found, key=lambda row: row.character)  # stable: each character's lines as met
    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise VoiceError(f"--out {args.out}: write a .xlsx or a .csv file.")
    write_atomic(args.out, _xlsx(found, story.title) if suffix == ".xlsx" else _csv(found))
    texts = {row.values["take_file"].removesuffix(".wav"): row.values["text"] for row in found}
    takes.write_script({**{str(k): str(v) for k, v in takes.script.items()}, **texts})
    print(f"Wrote {args.out}: {len(found)} line(s) for {len({row.character for row in found})} character(s); "
          f"takes go in {takes.folder}/final|recorded|scratch/ named as the take_file column.")
    return 0


def _csv(found: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows(row.values for row in found)
    return out.getvalue().encode("utf-8-sig")  # the BOM: spreadsheets then read it as UTF-8


def _xlsx(found: list[Row], title: str) -> bytes:
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError:
        raise VoiceError(f"Writing .xlsx needs the [script] extra: {install_extra('script')} "
                         "(or write a .csv).") from None
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31] or "Script"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in found:
        sheet.append([row.values[column] for column in COLUMNS])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def status_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    story, found, _ = _gather(args, config, pm)
    counts: dict[str, Counter[str]] = {}
    for row in found:
        counts.setdefault(row.character, Counter())[row.values["status"]] += 1
    print(f"{'character':<16} {'lines':>5} " + " ".join(f"{state:>9}" for state in STATES))
    for character, count in sorted(counts.items()):
        print(f"{character:<16} {sum(count.values()):>5} " + " ".join(f"{count[state]:>9}" for state in STATES))
    total = Counter(row.values["status"] for row in found)
    print(f"{story.slug}: {len(found)} line(s): {total['final'] + total['recorded'] + total['scratch']} recorded, "
          f"{total['synthetic']} synthetic in the pack, {total['stale']} stale, {total['missing']} missing.")
    for row in found:
        if row.values["status"] == "stale":
            print(f"  stale: {row.values['take']} was recorded for another text of {row.values['line_id']}")
    return 0


def take_problems(story: Story, takes: Takes) -> list[Problem]:
    """Recorded takes whose line says something else now (stale): warned where the line is written."""
    problems = []
    for line in story.format.lines(story):
        texts = line.alternates or (line.text,)
        for number, text in enumerate(texts):
            candidates = takes.candidates(line.line_id, text, number == 0)
            if candidates and all(take.stale(text) for take in candidates):
                take = candidates[0]
                problems.append(Problem(line.source.path, line.source.line,
                                        f"the take {take.status}/{take.path.name} was recorded for \"{take.text}\"; "
                                        f"the line now says \"{text}\": record it again (until then it is "
                                        "synthesized)", "warning"))
    return problems
