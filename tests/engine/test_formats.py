"""Story formats are plug-ins: a format from an installed package (a plain text file played straight
through, tests/support/text_format.py) is read, checked, played and voiced like the built-in ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.common import SUPPORT, run_engine

TEXT = "The rain stops.\n\nA door opens somewhere below.\nYou go down to meet whoever comes.\n"


def install_text_format(site: Path) -> Path:
    """Installs the format as a package would be: its module, and a dist-info declaring the entry point."""
    site.mkdir()
    shutil.copy(SUPPORT / "text_format.py", site / "text_format.py")
    info = site / "text_format-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: text-format\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[engine.plugins]\ntext = text_format\n")
    return site


def write_story(root: Path) -> Path:
    (root / "characters").mkdir(parents=True)
    (root / "story.toml").write_text('title = "Rain"\nformat = "text"\ntext = "story.txt"\n')
    (root / "story.txt").write_text(TEXT)
    (root / "characters" / "narrator.json").write_text(
        json.dumps({"character_id": "narrator", "display_name": "Narrator", "engine": "piper", "voice_id": "rain"}))
    return root


def test_hook_engine_story_formats(tmp_path: Path) -> None:
    """A format from an installed package is checked, played and voiced like the built-in ones."""
    site = install_text_format(tmp_path / "site")
    story = write_story(tmp_path / "rain")
    config = tmp_path / "config.toml"
    config.write_text(f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n[voice]\nsink = "null"\nengine = "piper"\n'
                      f'fallback = ["piper"]\nauto_seed = false\nvoices_dir = "{tmp_path / "voices"}"\n'
                      f'checked_dir = "{tmp_path / "checked"}"\n[voice.cache]\ndir = "{tmp_path / "cache"}"\n')
    site_path = str(site)  # installed: found through the entry-point group, not [plugins] modules
    checked = run_engine("check", story, "--config", config, PYTHONPATH=site_path)
    assert checked.returncode == 0 and "0 error(s)" in checked.stdout, checked.stdout + checked.stderr
    trace = tmp_path / "t.jsonl"
    played = run_engine("play", story, "--pace", "instant", "--trace", trace, "--config", config, PYTHONPATH=site_path)
    assert played.returncode == 0, played.stderr
    assert [line for line in played.stdout.splitlines() if line.strip()][2:5] == [line for line in TEXT.splitlines()
                                                                                 if line.strip()]
    assert played.stdout.rstrip().endswith("*** The End ***")
    voiced = [json.loads(x) for x in trace.read_text().splitlines() if '"event": "voice"' in x]
    assert [(r["line_id"], r["engine"]) for r in voiced] == [("main.1", "piper"), ("main.3", "piper"), ("main.4", "piper")]


def test_without_the_package_the_format_is_unknown_and_named_with_the_known_ones(tmp_path: Path) -> None:
    story = write_story(tmp_path / "rain")
    checked = run_engine("check", story)
    assert checked.returncode == 1
    assert "story.toml:2: 'format' must be one of scenes, ink, not 'text'" in checked.stdout
