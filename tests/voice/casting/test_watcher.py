"""The watched voices/ folder, with real filesystem events (watchdog), and hot reload in a running game."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine import PlayContext, SpokenLine, load_story
from plugins.voice.casting.watcher import VoicesWatcher
from plugins.voice.plugin import VoicePlugin
from tests.support.audio_checks import write_tone
from tests.support.common import TOMB
from tests.support.voice import write_config

pytestmark = pytest.mark.slow


class Seen:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes | None]] = []
        self.changed = threading.Condition()

    def __call__(self, path: Path) -> None:
        with self.changed:
            self.calls.append((path.name, path.read_bytes() if path.exists() else None))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.calls) >= count, timeout), self.calls


@pytest.fixture
def watched(tmp_path: Path) -> Any:
    seen = Seen()
    watcher = VoicesWatcher(tmp_path / "voices", seen, settle_seconds=0.3)
    watcher.start()
    yield tmp_path / "voices", seen
    watcher.stop()


def test_a_slow_copy_is_used_only_once_complete(watched: Any, tmp_path: Path) -> None:
    folder, seen = watched
    data = write_tone(tmp_path / "source.wav", 3, 150).read_bytes()
    with (folder / "god.wav").open("wb") as handle:
        for start in range(0, len(data), len(data) // 8):
            handle.write(data[start:start + len(data) // 8])
            handle.flush()
            time.sleep(0.12)  # slower than nothing, faster than the settle time
    (folder / ".done.part").write_bytes(data)
    os.rename(folder / ".done.part", folder / "done.wav")  # complete at once, and reported after the copy
    seen.wait_for(2)
    assert seen.calls == [("god.wav", data), ("done.wav", data)]  # the copy once, whole


def test_rename_into_place_replace_and_delete(watched: Any, tmp_path: Path) -> None:
    folder, seen = watched
    first = write_tone(tmp_path / "first.wav", 2, 150).read_bytes()
    (folder / ".god.wav.part").write_bytes(first)  # not a .wav name: ignored
    os.rename(folder / ".god.wav.part", folder / "god.wav")
    seen.wait_for(1)
    second = write_tone(tmp_path / "other.wav", 2, 250).read_bytes()
    (folder / "god.wav").write_bytes(second)
    seen.wait_for(2)
    (folder / "god.wav").unlink()
    seen.wait_for(3)
    assert seen.calls == [("god.wav", first), ("god.wav", second), ("god.wav", None)]


def test_a_burst_and_a_deleted_folder_do_not_crash(watched: Any) -> None:
    folder, seen = watched
    for index in range(60):
        (folder / f"v{index}.wav").write_bytes(b"RIFF" + bytes(index))
    (folder / "notes.txt").write_text("ignored")
    seen.wait_for(60)
    shutil.rmtree(folder)
    seen.wait_for(120)  # each file reported gone, and the watcher still runs
    assert len({name for name, _ in seen.calls}) == 60
    assert {name for name, data in seen.calls[60:] if data is None} == {f"v{index}.wav" for index in range(60)}


def context_for(config_path: Path, records: list[dict[str, Any]], notices: list[str]) -> PlayContext:
    from engine.config import load_config

    return PlayContext(load_story(TOMB), load_config(config_path), {}, records.append, notices.append, game="watched")


def speak(plugin: VoicePlugin, records: list[dict[str, Any]], n: int) -> dict[str, Any]:
    line = SpokenLine(f"god.{n}", "sanctum", "god", "Khepri-Anu", "Who walks so softly in my house?", False, "en")
    plugin.engine_dialogue(line, "watched")
    assert plugin.engine_line_delivery(line, "watched").wait(60)
    return [r for r in records if r.get("event") == "voice" and r["line_id"] == line.line_id][0]


def test_a_new_reference_changes_the_next_line_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, voice="auto_seed = false")
    voices = tmp_path / "voices"
    write_tone(voices / "god_deep.wav", 3, 110)
    records: list[dict[str, Any]] = []
    notices: list[str] = []
    plugin = VoicePlugin()
    plugin.engine_story_loaded(context_for(config, records, notices))
    try:
        first = speak(plugin, records, 1)
        assert first["reference"] and first["cache"] == "miss"
        assert speak(plugin, records, 2)["cache"] == "hit"

        # copy a new recording over the reference, slowly, the way a file manager does
        data = write_tone(tmp_path / "new.wav", 4, 180).read_bytes()
        with (voices / "god_deep.wav").open("wb") as handle:
            for start in range(0, len(data), 20000):
                handle.write(data[start:start + 20000])
                handle.flush()
                time.sleep(0.05)
        deadline = time.monotonic() + 10
        while "New voice for Khepri-Anu from god_deep.wav." not in notices and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "New voice for Khepri-Anu from god_deep.wav." in notices, notices
        changed = speak(plugin, records, 3)
        assert changed["reference"] != first["reference"] and changed["cache"] == "miss", notices  # fresh audio

        (voices / "god_deep.wav").write_bytes(b"garbage")  # a bad replacement
        deadline = time.monotonic() + 10
        while not any("god_deep.wav refused" in n for n in notices) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("god_deep.wav refused: not readable audio" in n and "The previous recording stays." in n
                   for n in notices)
        assert speak(plugin, records, 4)["reference"] == changed["reference"]

        (voices / "voice_map.json").write_text("{broken")
        deadline = time.monotonic() + 10
        while not any("The previous voice map stays." in n for n in notices) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("voice_map.json is not valid JSON" in n for n in notices)
    finally:
        plugin.engine_story_ended(ending=None, reason="quit", game="watched")
