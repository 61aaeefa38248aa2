"""`engine export --web`: the exported folder played in headless Chromium from a plain static server (no server
of ours), under a prefix and framed by a page of another origin: keys only, every line's audio from the folder,
axe-core, saves in the browser; and what the command refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import CRYPT, LIGHTHOUSE, TOMB, run_engine
from tests.support.serving import Player, axe_violations, story_lines, until
from tests.support.web import Exported, StaticServer

FASTEST = ["+"] * 12
# the browser's speech, seen from outside the page: what it was asked to say, at what rate; each ends at once
SPEECH = """
window.spoken = [];
speechSynthesis.speak = (utterance) => {
  window.spoken.push([utterance.text, utterance.rate]);
  queueMicrotask(() => utterance.dispatchEvent(new Event("end")));
};
"""
pytestmark = pytest.mark.xdist_group("browser")


def play(player: Player, choices: list[int]) -> str:
    for number in choices:
        player.wait_choices()
        player.press(str(number))
    return player.wait_ending()


@pytest.mark.parametrize("choices", [[1], [2]], ids=["the god", "home"])
def test_each_ending_by_keys_every_line_heard_from_the_folder(hosted: StaticServer, browser: Any,
                                                             choices: list[int]) -> None:
    context = browser.new_context(bypass_csp=True)  # axe-core is injected as an inline script
    player = Player(context.new_page(), hosted.url, audio="/audio/")
    violations = {"start": axe_violations(player.page)}
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    violations["choice"] = axe_violations(player.page)
    texts, title = story_lines(CRYPT, choices)
    assert play(player, choices) == title
    violations["ending"] = axe_violations(player.page)
    assert not any(violations.values()), violations
    assert player.texts() == texts
    ended = player.ended_lines()
    assert len(ended) == len(texts) and all(e["event"] != "read" for e in player.events())
    assert all(url.startswith(hosted.url + "audio/") for url in player.requests) and len(player.requests) == len(texts)
    assert not player.page.locator("#needs-server").count()
    context.close()


def test_it_plays_framed_by_a_page_of_another_origin(crypt: Exported, hosted: StaticServer, browser: Any,
                                                     tmp_path: Path) -> None:
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "index.html").write_text(
        f'<!doctype html><title>host</title><iframe src="{hosted.url}" width="800" height="600" '
        'allow="autoplay"></iframe>')
    host = StaticServer(tmp_path / "host", "site")
    try:
        page = browser.new_page()
        page.goto(host.url)
        frame = page.frame_locator("iframe")
        frame.locator("#new-game").click()
        frame.locator("#choices button").first.wait_for(timeout=120_000)
        frame.locator("#choices button").nth(1).press("2")
        frame.locator(".ending-title").wait_for(timeout=120_000)
        assert frame.locator(".ending-title").inner_text() == "The end: Home"
        page.close()
    finally:
        host.stop()


def test_saves_outlive_a_reload_and_a_changed_story_refuses_them(tmp_path: Path, browser: Any, crypt: Exported) -> None:
    story = tmp_path / "crypt"
    shutil.copytree(CRYPT, story)
    exported = Exported.make(story, crypt.work, crypt.config, web=tmp_path / "web")
    server = StaticServer(exported.web, "crypt")
    try:
        player = Player(browser.new_page(), server.url, audio="/audio/")
        player.press(*FASTEST, "Enter")
        options = player.wait_choices()
        player.press("s", "2")
        until(player.page, "document.getElementById('status').textContent === 'Saved in slot 2.'")
        player.page.reload()
        until(player.page, "document.activeElement && document.activeElement.tagName === 'BUTTON'")
        assert player.focused().startswith("Continue: ")
        player.press("Enter")
        assert player.wait_choices() == options
        scenes = story / "scenes"
        for path in scenes.iterdir():
            path.write_text(path.read_text().replace("Gold light", "Golden light"))
        Exported.make(story, crypt.work, crypt.config, "--force", web=tmp_path / "web")
        player.page.reload()
        until(player.page, "document.activeElement && document.activeElement.tagName === 'BUTTON'")
        player.page.locator("#start-buttons button", has_text="Load slot 2").click()
        until(player.page, "document.getElementById('status').textContent.includes('another version')")
        assert player.page.locator("#story").is_hidden()
        player.page.close()
    finally:
        server.stop()


def test_a_page_opened_from_the_disk_says_how_to_open_it(crypt: Exported, browser: Any) -> None:
    page = browser.new_page()
    page.goto((crypt.web / "index.html").resolve().as_uri())
    assert "through a local web server" in page.locator("#needs-server").inner_text()
    page.close()


def test_lines_missing_from_the_pack_are_listed_and_read_as_text(crypt: Exported, tmp_path: Path,
                                                                browser: Any) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(crypt.work / "pack", pack)
    (pack / "door.2.opus").write_bytes(b"damaged")
    done = run_engine("export", CRYPT, "--web", tmp_path / "web", "--pack", pack, "--config", crypt.config)
    assert done.returncode == 0, done.stderr
    assert "lines without     1" in done.stdout
    listed = (tmp_path / "web" / "lines-without-audio.txt").read_text().splitlines()
    assert len(listed) == 1 and listed[0].startswith("door.2\tdamaged: door.2.opus")
    data = json.loads((tmp_path / "web" / "story.json").read_text())
    assert "door.2" not in data["audio"] and len(data["audio"]) == 8
    server = StaticServer(tmp_path / "web", "crypt")
    try:
        player = Player(browser.new_page(), server.url, audio="/audio/")
        player.press(*FASTEST, "Enter")
        player.wait_choices()
        assert [e["event"] for e in player.events() if e["event"] in ("ended", "read")] == ["ended", "read", "ended"]
        player.page.close()
        heard = Player(browser.new_page(), server.url, SPEECH, audio="/audio/")  # the browser's speech: an option
        heard.page.locator("#browser-speech").check()
        heard.page.locator("#new-game").focus()
        heard.press(*FASTEST, "Enter")
        heard.wait_choices()
        assert [e["event"] for e in heard.events() if e["event"] in ("ended", "read", "spoken")] == \
            ["ended", "spoken", "ended"]
        assert heard.page.evaluate("window.spoken") == [[data["scenes"]["door"]["body"][1]["text"], 4]]
        heard.page.close()
    finally:
        server.stop()


def test_what_the_export_refuses(crypt: Exported, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    cases: dict[str, tuple[list[str | Path], str]] = {
        "not empty": (["export", CRYPT, "--web", tmp_path / "full", "--pack", crypt.work / "pack"],
                      "is not empty; give an empty folder, or --force"),
        "another story's pack": (["export", TOMB, "--web", tmp_path / "tomb", "--pack", crypt.work / "pack"],
                                 "is the voice pack of 'crypt', not of 'tomb'"),
        "no pack, and no model to render one": (["export", LIGHTHOUSE, "--web", tmp_path / "ink"],
                                               "cannot render: no XTTS model"),
        "a zip inside": (["export", CRYPT, "--web", tmp_path / "w", "--zip", tmp_path / "w" / "x.zip"],
                         "cannot be inside the folder it packs"),
    }
    for what, (args, sentence) in cases.items():
        done = run_engine(*args, "--config", crypt.config)
        assert done.returncode == 1 and sentence in done.stderr, (what, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (what, done.stderr)
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me" and not (tmp_path / "tomb").exists()
    assert not (tmp_path / "tomb.partial").exists() and not (tmp_path / "ink.partial").exists()  # nothing left behind


def test_the_zip_holds_the_folder_with_index_html_at_its_root(crypt: Exported, tmp_path: Path) -> None:
    import zipfile

    done = run_engine("export", CRYPT, "--web", tmp_path / "web", "--pack", crypt.work / "pack", "--zip",
                      tmp_path / "crypt.zip", "--config", crypt.config)
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(tmp_path / "crypt.zip").namelist()
    folder = sorted(p.relative_to(tmp_path / "web").as_posix() for p in (tmp_path / "web").rglob("*") if p.is_file())
    assert sorted(names) == folder and "index.html" in names and "static/local.js" in names


def test_hook_engine_export_audio(crypt: Exported) -> None:
    """The voice plugin writes each line of its pack as MP3 (the same audio twice, one file) and says which."""
    import io

    import soundfile

    from plugins.voice.store.manifest import Manifest

    data = json.loads((crypt.web / "story.json").read_text())
    manifest = Manifest.read(crypt.work / "pack")
    assert manifest is not None
    assert sorted(data["audio"]) == sorted(manifest.entries)  # every line of the crypt, by its id
    for line_id, texts in data["audio"].items():
        entry = manifest.entries[line_id]
        assert list(texts) == [entry.text]
        samples, rate = soundfile.read(io.BytesIO((crypt.web / texts[entry.text]).read_bytes()))
        assert abs(len(samples) / rate - entry.seconds) < 0.2  # the pack's audio (plus the encoder's padding)
    assert "lines with audio  9" in crypt.printed and "lines without     0" in crypt.printed


def test_hook_engine_add_export_options(crypt: Exported, tmp_path: Path) -> None:
    from engine.cli import parse_args
    from engine.config import load_config
    from engine.plugins import make_plugin_manager

    pm = make_plugin_manager(load_config(crypt.config))
    args = parse_args(pm, ["export", str(CRYPT), "--web", str(tmp_path / "w"), "--pack", str(tmp_path / "p")])
    assert args.pack == tmp_path / "p"  # the voice plugin's option, not the engine's
    bare = make_plugin_manager({"plugins": {"disabled": ["voice"]}})
    with pytest.raises(SystemExit):
        parse_args(bare, ["export", str(CRYPT), "--web", str(tmp_path / "w"), "--pack", str(tmp_path / "p")])


def test_without_a_pack_it_renders_one_first_and_says_so(crypt: Exported, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(crypt.config.read_text())  # its folder is this test's: packs/crypt is made here
    done = run_engine("export", CRYPT, "--web", tmp_path / "web", "--engine", "piper", "--config", config)
    assert done.returncode == 0, done.stderr
    assert f"There is no voice pack in {tmp_path / 'packs' / 'crypt'}: rendering it first" in done.stdout
    assert "lines with audio  9" in done.stdout and (tmp_path / "packs" / "crypt" / "manifest.json").exists()


def test_a_browser_that_blocks_storage_still_plays_and_saves_for_the_page_s_life(hosted: StaticServer,
                                                                                 browser: Any) -> None:
    """Safari blocks storage for a game inside another site's page (itch.io's iframe): the game plays, saves last
    until the page closes, and the player is told so in one sentence."""
    blocked = """Object.defineProperty(window, "localStorage", {
      get() { throw new DOMException("The operation is insecure.", "SecurityError"); } });"""
    player = Player(browser.new_page(), hosted.url, blocked, audio="/audio/")
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    assert "saves last until the page closes" in player.page.locator("#player-notice").inner_text()
    player.press("s", "1")
    until(player.page, "document.getElementById('status').textContent === 'Saved in slot 1.'")
    player.press("s")
    until(player.page, "document.querySelector('#save-slots button').textContent.startsWith('Slot 1: The Door')")
    player.press("Escape", "2")
    assert player.wait_ending() == story_lines(CRYPT, [2])[1]
    player.page.close()
