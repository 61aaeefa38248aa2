"""`engine export STORY --web OUT`: the story as a folder of static files (index.html at its root) that any web
host serves, itch.io included: the page of `engine serve` with the story running in it (page/local.js), and
each line's audio from a plugin (engine_export_audio: the voice plugin writes its pack's lines as MP3)."""

from __future__ import annotations

import argparse
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pluggy

from engine.config import Config, engine_settings
from engine.context import PlayContext
from engine.core.errors import EngineError
from engine.core.files import write_atomic
from engine.core.model import Story
from engine.export.audio import ExportedAudio
from engine.export.report import report, zip_folder
from engine.export.story_data import story_data
from engine.formats.registry import known_formats
from engine.loader import load_story

# the page's own files, shared with engine serve
SERVED = ("play.js", "voice.js", "server.js", "saves.js", "stored.js", "play.css")
EXPORTED = {"scenes": ("local.js", "scenes.js"),  # the story running in the page, by its format
            "ink": ("local.js", "ink_game.js", "sha256.js", "ink.mjs", "inkjs-LICENSE.md")}  # inkjs 2.4.0, MIT
AUDIO = "audio"
NEEDS_SERVER = ("<p id=\"needs-server\">This game runs from a web address: upload this folder (itch.io, GitHub Pages) "
                "or open it through a local web server (<code>python3 -m http.server</code> in this folder), not "
                "straight from the disk.</p>")
POLICY = ("default-src 'self'; media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
          "object-src 'none'")


def register(sub: Any) -> argparse.ArgumentParser:
    export = sub.add_parser("export", help="publish a story as a static web game (a folder for itch.io or any host)")
    export.add_argument("story", metavar="STORY_DIR", type=Path)
    export.add_argument("--web", metavar="OUT", type=Path, required=True, help="the folder to write (index.html "
                        "at its root)")
    export.add_argument("--zip", metavar="FILE.zip", type=Path, help="also pack the folder into a zip (what "
                        "itch.io takes for an HTML game)")
    export.add_argument("--force", action="store_true", help="write into OUT even if it is not empty")
    export.set_defaults(handler=export_command)
    return export


def export_command(args: argparse.Namespace, config: Config, pm: pluggy.PluginManager) -> int:
    story = load_story(args.story, known_formats(pm))
    if story.format.name not in EXPORTED:
        raise EngineError(f"{args.story} is a story of the '{story.format.name}' format; engine export --web plays "
                          f"{' and '.join(sorted(EXPORTED))} stories.")
    out: Path = args.web
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise EngineError(f"{out} is not empty; give an empty folder, or --force to write over what is there.")
    if args.zip is not None and args.zip.resolve().is_relative_to(out.resolve()):
        raise EngineError(f"The zip {args.zip} cannot be inside the folder it packs ({out}).")
    made = out.with_name(out.name + ".partial")  # written whole, then put in OUT's place: a failed export leaves none
    shutil.rmtree(made, ignore_errors=True)
    (made / AUDIO).mkdir(parents=True)
    try:
        audio = _write(made, story, config, args, pm)
    except BaseException:
        shutil.rmtree(made, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    made.rename(out)
    print(report(out, story, audio))
    if args.zip is not None:
        zip_folder(out, args.zip)
        print(f"Packed into {args.zip} (upload it to itch.io as an HTML game).")
    return 0


def _write(out: Path, story: Story, config: Config, args: argparse.Namespace, pm: pluggy.PluginManager) -> ExportedAudio:
    context = PlayContext(story, config, vars(args), notify=lambda text: print(f"engine export: {text}", flush=True))
    audio = pm.hook.engine_export_audio(context=context, folder=out / AUDIO) or ExportedAudio()
    data = story_data(story)
    settings = engine_settings(config)
    data["settings"] = {"words_per_minute": settings.words_per_minute, "min_pause": settings.min_pause,
                        "directions": settings.directions}
    data["audio"] = {line_id: {text: f"{AUDIO}/{name}" for text, name in texts.items()}
                     for line_id, texts in audio.files.items()}
    data["slug"] = story.slug
    write_atomic(out / "story.json", json.dumps(data, ensure_ascii=False).encode())
    _page(out, story.title, EXPORTED[story.format.name])
    if not audio.reachable:  # no plugin voiced it: every line is a line without audio
        audio.reachable = len(story.format.lines(story))
    return audio


def _page(out: Path, title: str, exported: tuple[str, ...]) -> None:
    """index.html (the serve page's, with the story's title, its policy, and the sentence a page opened from the
    disk shows) and the page's scripts."""
    from html import escape

    served = resources.files("engine.serve").joinpath("page")
    html = served.joinpath("index.html").read_text(encoding="utf-8").replace("{{title}}", escape(title))
    html = html.replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-"
                        f"Policy\" content=\"{POLICY}\">")
    html = html.replace("<body>", f"<body data-source=\"local\">\n{NEEDS_SERVER}")
    write_atomic(out / "index.html", html.encode())
    (out / "static").mkdir(exist_ok=True)  # where the page asks for them, as from engine serve
    for name in SERVED:
        write_atomic(out / "static" / name, served.joinpath(name).read_bytes())
    page = resources.files("engine.export").joinpath("page")
    for name in exported:
        write_atomic(out / "static" / name, page.joinpath(name).read_bytes())
