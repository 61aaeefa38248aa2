"""`engine export --web`'s audio (engine_export_audio): every reachable line's audio from the story's voice pack
(rendered first when there is none), written as MP3 for the page; the same audio twice is one file. A line whose
entry is missing, stale or damaged is listed with why, and the page shows it as text."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import soundfile

from engine import PlayContext, write_atomic
from engine.export.audio import ExportedAudio
from plugins.voice.core.audio import decode
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import ENGINES, voice_settings
from plugins.voice.render.commands import pack_folder
from plugins.voice.render.plan import Wanted
from plugins.voice.render.render import Renderer, RenderJob
from plugins.voice.store.manifest import Entry, Manifest, file_sha_matches, text_sha


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", metavar="DIR", type=Path, help="the voice pack to take the lines' audio from "
                        "(default packs/<story>; rendered first when there is none)")
    parser.add_argument("--engine", choices=ENGINES, help="when the pack must be rendered first: render every "
                        "character with this engine (default: each profile's own)")


def export_audio(context: PlayContext, folder: Path) -> ExportedAudio:
    story, settings = context.story, voice_settings(context.config)
    pack = context.options.get("pack") or pack_folder(None, context.config, story.slug)
    manifest = Manifest.read(pack)
    if manifest is None:
        context.notify(f"There is no voice pack in {pack}: rendering it first, as 'engine render' does (resumable).")
        Renderer(RenderJob(story, settings, pack, settings.render.format, context.options.get("engine"), None, 0,
                           settings.render.max_states, settings.quality.render)).run()
        manifest = Manifest.read(pack)
        assert manifest is not None
    elif manifest.story != story.slug:
        raise VoiceError(f"{pack} is the voice pack of '{manifest.story}', not of '{story.slug}'; give its own "
                         "with --pack, or render one.")
    job = RenderJob(story, settings, pack, manifest.audio, None, None, 0, settings.render.max_states)
    _, plan = Renderer(job).plan(prepare=False)
    exported = ExportedAudio(reachable=len(plan.wanted))
    names: dict[str, str] = {}  # the pack file's SHA-256 -> its MP3's name
    for wanted in plan.wanted:
        entry = manifest.entries.get(wanted.key)
        why = _unusable(entry, wanted, pack)
        if why is not None or entry is None:
            exported.missing.append((wanted.line_id, wanted.text, why or "not in the pack"))
            continue
        if entry.file_sha not in names:
            names[entry.file_sha] = _mp3(pack / entry.file, folder, entry.file_sha)
        exported.files.setdefault(wanted.line_id, {})[wanted.text] = names[entry.file_sha]
    return exported


def _unusable(entry: Entry | None, wanted: Wanted, pack: Path) -> str | None:
    if entry is None:
        return "not in the pack (the render did not reach it, or no engine could say it)"
    if entry.text_sha != text_sha(wanted.text) or entry.character_id != wanted.character_id \
            or entry.voice_id != wanted.voice.voice_id:
        return "stale: the line or its voice changed since the render"
    if not file_sha_matches(pack / entry.file, entry.file_sha):
        return f"damaged: {entry.file} is missing or does not match the pack's manifest"
    return None


def _mp3(source: Path, folder: Path, sha: str) -> str:
    audio = decode(source.read_bytes())
    encoded = io.BytesIO()
    soundfile.write(encoded, audio.samples, audio.sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    name = f"{sha[:16]}.mp3"
    write_atomic(folder / name, encoded.getvalue())
    return name
