"""Voice packs: rendered with real Piper, locally and on a real local Ray cluster, killed, resumed, played."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from engine import load_story
from engine.config import load_config
from plugins.voice.core.settings import voice_settings
from plugins.voice.render.ray_pool import RayPool
from plugins.voice.render.render import Renderer, RenderJob
from tests.support.common import CRYPT, LIGHTHOUSE, LIGHTHOUSE_ENDINGS, ROOT, TOMB, engine_env, run_engine, wait_until
from tests.support.packs import assert_pack_is_whole, config_for

pytestmark = pytest.mark.slow
def test_a_render_with_the_quality_gate_keeps_every_take_with_its_scores(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    rendered = run_engine("render", LIGHTHOUSE, "--engine", "piper", "--out", folder, "--config",
                          config_for(tmp_path, gate=True))
    assert rendered.returncode == 0, rendered.stderr
    gates = [entry.gate for entry in assert_pack_is_whole(folder).entries.values()]
    assert gates and all(gate is not None for gate in gates)
    assert all(gate["takes"] == 1 for gate in gates if gate)  # repeatable Piper: a retake would be the same
    assert [gate["faults"] for gate in gates if gate and not gate["passed"]] == []
    judged = [gate for gate in gates if gate and gate["similarity"] is not None]
    assert judged and all(gate["margin"] > 0 for gate in judged)  # each line nearer its own voice
    assert {"heard", "wer", "tail_db", "floor", "nearest"} <= set(judged[0])


@pytest.mark.xdist_group("ray")  # one Ray cluster at a time on 2 cores (test_render_cluster.py)
def test_ray_renders_every_reachable_line_once_though_a_worker_is_killed(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # the local cluster's token comes from here, not from a file Ray would write in the home folder; Ray's mode
    # (which it sets in this process) is gone again after the test
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    config = config_for(tmp_path)
    settings = voice_settings(load_config(config))
    folder = tmp_path / "pack"
    renderer = Renderer(RenderJob(load_story(CRYPT), settings, folder, "flac", "piper", ray="auto", workers=2))
    pids: list[int] = []
    killed: list[int] = []

    def started(pool: object) -> None:
        assert isinstance(pool, RayPool) and pool.workers == 2
        pids.extend(pool.pids())

    def progress(done: int, total: int) -> None:
        if done == 3 and not killed:  # mid-render: one worker's process dies (its line is in flight)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    report = renderer.run(progress, pool_ready=started)
    assert killed and report.lost == 1 and not report.failed
    reachable = {line.line_id for line in report.reach.lines}
    assert len(reachable) == 9 and report.reach.complete
    manifest = assert_pack_is_whole(folder)
    assert set(manifest.entries) == reachable  # every reachable line, each once
    assert report.made == len(report.plan.todo) == 9  # each synthesized once (plus the one lost in flight)
    assert {e.engine for e in manifest.entries.values()} == {"piper"}
    closed = [pid for pid in pids if pid not in killed]  # each removed its copies of the references
    assert closed and not [f for pid in closed for f in Path(tempfile.gettempdir()).glob(f"voiced-if-render-{pid}-*")]
    for left in Path(tempfile.gettempdir()).glob(f"voiced-if-render-{killed[0]}-*"):
        shutil.rmtree(left)  # the killed worker could not remove its own


def test_a_render_killed_midway_resumes_then_an_edited_line_is_the_only_one_made_again(tmp_path: Path) -> None:
    """One pack for both (a full render is the cost): killed midway, it resumes where it stopped; then a
    line edited in the story is stale, plays live, and is the only one rendered again."""
    story = tmp_path / "crypt"
    shutil.copytree(CRYPT, story)
    config = config_for(tmp_path)
    folder = tmp_path / "pack"
    held = tmp_path / "held.toml"  # the render stops making lines after its third (hold_plugin), then is killed
    held.write_text(config.read_text() + '[plugins]\nmodules = ["hold_plugin"]\n')
    args = [sys.executable, "-m", "engine", "render", str(story), "--engine", "piper", "--out", str(folder),
            "--config", str(held)]
    render = subprocess.Popen(args, cwd=ROOT, env=engine_env(HOLD_AFTER="3"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        wait_until(lambda: len(list(folder.glob("*.opus"))) == 3 or render.poll() is not None, 120,
                   "the render's third line")
    finally:
        render.send_signal(signal.SIGKILL)
        render.wait()
    written = len(list(folder.glob("*.opus")))
    assert written == 3, render.stderr.read() if render.stderr else ""
    before = assert_pack_is_whole(folder)  # the manifest and every file it lists are whole
    # the manifest is written at the first line, then at most once a second: what it missed is made again
    assert 1 <= len(before.entries) <= written

    again = run_engine("render", story, "--engine", "piper", "--out", folder, "--config", config)
    assert again.returncode == 0, again.stderr
    assert f"{len(before.entries)} were up to date" in again.stdout
    assert len(assert_pack_is_whole(folder).entries) == 9
    verify = run_engine("pack", "verify", story, "--pack", folder, "--engine", "piper", "--config", config)
    assert verify.returncode == 0 and "9 line(s) checked, 0 problem(s)" in verify.stdout, verify.stdout

    scene = story / "scenes" / "crypt.story"
    text = scene.read_text()
    old = "Then we go in."
    assert old in text
    scene.write_text(text.replace(old, "Then we go in, quietly."))

    verify = run_engine("pack", "verify", story, "--pack", folder, "--engine", "piper", "--config", config)
    assert verify.returncode == 1
    (stale,) = [line for line in verify.stdout.splitlines() if ": stale: " in line]
    assert stale.endswith("pack/door.3: stale: the story's line or voice changed since it was rendered")

    records, _, out = play(story, [1], config, tmp_path, "edited", "--pack", folder)
    voices = [r for r in records if r["event"] == "voice"]
    live = [r for r in voices if r["engine"] != "pack"]
    assert len(live) == 1 and live[0]["engine"] == "piper" and live[0]["line_id"] == "door.3"
    assert out.count("has no current recording of line door.3") == 1

    again = run_engine("render", story, "--engine", "piper", "--out", folder, "--config", config)
    assert again.returncode == 0 and "Rendered 1 entry (1 synthesis(es)" in again.stdout and "8 were up to date" \
        in again.stdout, again.stdout


def play(story: Path, choices: list[int], config: Path, tmp_path: Path, name: str, *extra: str | Path) -> \
        tuple[list[dict], np.ndarray, str]:
    record, trace = tmp_path / f"{name}.wav", tmp_path / f"{name}.jsonl"
    result = run_engine("play", story, "--choices", ",".join(map(str, choices)), "--pace", "instant",
                        "--record", record, "--trace", trace, "--config", config, *extra)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    samples, rate = soundfile.read(record, dtype="float32")
    assert rate == 24000
    return [json.loads(x) for x in trace.read_text().splitlines()], samples, result.stdout


def test_an_ink_story_played_from_its_pack_sounds_like_live_with_no_engine_prepared(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    folder = tmp_path / "pack"
    rendered = run_engine("render", LIGHTHOUSE, "--engine", "piper", "--format", "flac", "--out", folder,
                          "--config", config)
    assert rendered.returncode == 0 and "every branch walked" in rendered.stdout, rendered.stderr
    manifest = assert_pack_is_whole(folder)
    assert "gal_oil" in manifest.entries and any(k.startswith("gal_oil~") for k in manifest.entries)  # two texts

    path = LIGHTHOUSE_ENDINGS["The Light Holds"]
    live, live_audio, _ = play(LIGHTHOUSE, path, config, tmp_path, "live")
    cached, cached_audio, _ = play(LIGHTHOUSE, path, config, tmp_path, "cached")
    packed, packed_audio, out = play(LIGHTHOUSE, path, config, tmp_path, "packed", "--pack", folder)
    assert "voice pack" not in out
    voices = [r for r in packed if r["event"] == "voice"]
    assert voices and {r["engine"] for r in voices} == {"pack"} and {r["rendered_by"] for r in voices} == {"piper"}
    assert not [r for r in packed if r["event"] in ("voice_prepare", "engine")]  # no engine was prepared
    assert [r for r in live if r["event"] == "voice_prepare"]
    assert {r["cache"] for r in cached if r["event"] == "voice"} == {"hit"}
    # the pack holds what the cache holds (16-bit FLAC): the same samples, within quantization
    assert len(packed_audio) == len(cached_audio)
    assert float(np.max(np.abs(packed_audio - cached_audio))) < 2e-3
    assert abs(len(packed_audio) - len(live_audio)) / 24000 < 0.1


def test_dry_run_writes_nothing_and_estimates(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    folder = tmp_path / "pack"
    dry = run_engine("render", TOMB, "--engine", "piper", "--out", folder, "--dry-run", "--config", config)
    assert dry.returncode == 0, dry.stderr
    assert "95 line(s) reachable" in dry.stdout and "95 to render as 95 synthesis(es)" in dry.stdout
    assert "of synthesis on one worker (measured now on 3 lines with piper" in dry.stdout
    assert not folder.exists()


def test_render_with_an_engine_that_cannot_run_is_one_sentence(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    refused = run_engine("render", TOMB, "--out", tmp_path / "pack", "--config", config)  # the profiles say xtts
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("engine: xtts cannot render: ") and "--engine piper" in refused.stderr
    missing = run_engine("play", CRYPT, "--choices", "2", "--pace", "instant", "--pack", tmp_path / "none",
                         "--config", config)
    assert missing.returncode == 0 and "There is no voice pack in" in missing.stdout
