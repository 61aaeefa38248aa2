"""The bridge when it fails: killed, frozen, gone and back; the client's choice of healthy bridges."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bridge_server import TOKEN, auth, register
from tests.support.common import CRYPT, TOMB, run_engine
from tests.support.net import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bridge")]  # the same worker and bridge as test_bridge.py


def test_play_through_the_bridge_falls_back_when_it_dies_and_returns(bridge: Any) -> None:
    server, tmp, config = bridge
    trace = tmp / "t.jsonl"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--trace", trace, "--config",
                        config, VOICED_IF_BRIDGE_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    god = [json.loads(x) for x in trace.read_text().splitlines() if '"character_id": "god"' in x and '"voice"' in x]
    assert god and {v["engine"] for v in god} == {"xtts-remote"}

    server.kill()  # the GPU box goes away
    assert run_engine("cache", "clear", "--config", config).returncode == 0  # or every line would be a cache hit
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--trace", trace, "--config",
                        config, VOICED_IF_BRIDGE_TOKEN=TOKEN)
    assert result.returncode == 0 and result.stdout.count("xtts-remote voice unavailable") == 1
    god = [json.loads(x) for x in trace.read_text().splitlines() if '"character_id": "god"' in x and '"voice"' in x]
    assert god and {v["engine"] for v in god} == {"piper"}  # every line still heard
    fallback = god[0]["fallback"]
    assert fallback[-1]["engine"] == "edge" and "xtts-remote" in [f["engine"] for f in fallback]

    server.start()  # back: the bridge speaks again
    run_engine("cache", "clear", "--config", config)
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--trace", trace, "--config",
                        config, VOICED_IF_BRIDGE_TOKEN=TOKEN)
    god = [json.loads(x) for x in trace.read_text().splitlines() if '"character_id": "god"' in x and '"voice"' in x]
    assert result.returncode == 0 and {v["engine"] for v in god} == {"xtts-remote"}


class OnFirstAudio:
    """A sink that plays nothing and does something to the bridge as soon as the first audio arrives."""

    name = "null"

    def __init__(self, act: Any) -> None:
        self.act = act
        self.writes = 0

    def write(self, pcm: Any) -> None:
        self.writes += 1
        if self.writes == 1:
            self.act()

    def drain(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


def test_a_server_killed_mid_stream_makes_the_line_fall_back(bridge: Any, piper: Any) -> None:
    from engine import SpokenLine, load_story
    from plugins.voice.casting.cast import Cast
    from plugins.voice.casting.references import ReferenceStore
    from plugins.voice.core.settings import CacheSettings, StallSettings, XttsRemoteSettings
    from plugins.voice.engines.xtts_remote import XttsRemoteEngine
    from plugins.voice.output.playback import Output
    from plugins.voice.pipeline.fallback import Fallback
    from plugins.voice.pipeline.speaker import Speaker
    from plugins.voice.store.cache import AudioCache

    server, tmp, _ = bridge

    import os

    os.environ["VOICED_IF_BRIDGE_TOKEN"] = TOKEN
    try:
        remote = XttsRemoteEngine(XttsRemoteSettings(urls=(server.url,), read_timeout=20))
        records: list[dict[str, Any]] = []
        cast = Cast(load_story(TOMB), tmp / "voices", "xtts-remote", {}, ReferenceStore(tmp / "checked-mid"))
        sink = OnFirstAudio(server.kill)  # pulls the plug on the bridge as soon as its first audio arrives
        speaker = Speaker(cast, Fallback({"xtts-remote": remote, "piper": piper}, ["xtts-remote", "piper"], print, 0),
                          AudioCache(CacheSettings(tmp / "cache-mid")), Output(sink, 24000, -20.0, print),
                          records.append, print,
                          stall=StallSettings(first_network=60)).start()  # a busy machine: no stall here
        long_line = " ".join(["I carried the sun beneath the world, and each night I lifted it through the water."] * 6)
        job = speaker.say(SpokenLine("god.x", "s", "god", "Khepri-Anu", long_line, False, "en"))
        assert job.done.wait(120)
        speaker.close(drain=True)
        (record,) = [r for r in records if r["event"] == "voice"]  # (and voice_prepare)
        assert record["engine"] == "piper" and record["fallback"][0]["engine"] == "xtts-remote"
        assert "broke off" in record["fallback"][0]["reason"] or "timed out" in record["fallback"][0]["reason"]
        assert remote.measured_rtf() is None  # a stream that broke off says nothing of the bridge's pace
    finally:
        os.environ.pop("VOICED_IF_BRIDGE_TOKEN", None)
        server.start()


def _established_to(port: int) -> int:
    """TCP connections on this machine in state ESTABLISHED whose remote end is `port` (clients of it)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


def test_a_frozen_bridge_is_given_up_within_the_budget_and_its_slot_freed(bridge: Any, piper: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGSTOP mid-line: the TCP connection stays up and silent (no socket error would come for 20 s)."""
    from engine import SpokenLine, load_story
    from plugins.voice.casting.cast import Cast
    from plugins.voice.casting.references import ReferenceStore
    from plugins.voice.core.settings import CacheSettings, StallSettings, XttsRemoteSettings
    from plugins.voice.engines.xtts_remote import XttsRemoteEngine
    from plugins.voice.output.playback import Output
    from plugins.voice.pipeline.fallback import Fallback
    from plugins.voice.pipeline.speaker import Speaker
    from plugins.voice.store.cache import AudioCache

    server, tmp, _ = bridge
    assert server.process is not None

    monkeypatch.setenv("VOICED_IF_BRIDGE_TOKEN", TOKEN)
    remote = XttsRemoteEngine(XttsRemoteSettings(urls=(server.url,), read_timeout=20))
    records: list[dict[str, Any]] = []
    cast = Cast(load_story(TOMB), tmp / "voices", "xtts-remote", {}, ReferenceStore(tmp / "checked-frozen"))
    sink = OnFirstAudio(lambda: server.process.send_signal(signal.SIGSTOP))  # frozen mid-line
    speaker = Speaker(cast, Fallback({"xtts-remote": remote, "piper": piper}, ["xtts-remote", "piper"], print, 0),
                      AudioCache(CacheSettings(tmp / "cache-frozen")), Output(sink, 24000, -20.0, print),
                      records.append, print, stall=StallSettings(grace=1.0, first_network=60)).start()
    long_line = " ".join(["I carried the sun beneath the world, and each night I lifted it through the water."] * 6)
    try:
        job = speaker.say(SpokenLine("god.frozen", "s", "god", "Khepri-Anu", long_line, False, "en"))
        assert job.done.wait(120)
        (record,) = [r for r in records if r["event"] == "voice"]
        assert record["engine"] == "piper" and record["fallback"][0]["engine"] == "xtts-remote"
        assert record["fallback"][0]["reason"].startswith("stopped sending audio for")
        # the client waited for what it had queued (at most one 0.1 s chunk is ahead of a NullSink) plus the grace
        assert record["fallback"][0]["stalled_after_ms"] <= (1.0 + 1.0 + 2.0) * 1000
        assert _established_to(server.port) == 0  # the client closed its connection
    finally:
        server.process.send_signal(signal.SIGCONT)
        speaker.close(drain=True)
        remote.close()
    deadline = time.monotonic() + 30  # the bridge, running again, sees the client gone and frees its slot
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = httpx.get(f"{server.url}/health", headers=auth(), timeout=5).json()
        if not state["busy"] and state["queue"] == 0:
            break
        time.sleep(0.1)
    assert not state["busy"] and state["queue"] == 0, state
    # it serves the next line at once
    voice = register(server.url, (tmp / "voices" / "god_deep.wav").read_bytes()).json()["id"]
    done = httpx.post(f"{server.url}/v1/audio/speech", headers=auth(), timeout=60,
                      json={"input": "Again.", "voice": voice, "response_format": "pcm"})
    assert done.status_code == 200 and len(done.content) > 0


def test_requests_go_to_healthy_bridges_which_are_timed(bridge: Any, monkeypatch: pytest.MonkeyPatch,
                                                       reference_wav: Path) -> None:
    import time

    from plugins.voice.core.settings import XttsRemoteSettings
    from plugins.voice.core.voice import LineSettings, Voice
    from plugins.voice.engines.xtts_remote import XttsRemoteEngine

    server, _, _ = bridge
    monkeypatch.setenv("VOICED_IF_BRIDGE_TOKEN", TOKEN)
    dead = f"http://127.0.0.1:{free_port()}"
    remote = XttsRemoteEngine(XttsRemoteSettings(urls=(dead, server.url), connect_timeout=1))
    assert remote.probe() is None and remote.bridges.healthy == [server.url]
    assert remote.measured_rtf() is None
    voice = Voice("god", "god_deep", "xtts-remote", "en", 1.0, 0, references=(reference_wav,))
    started = time.perf_counter()
    try:
        audio = sum(chunk.seconds for chunk in remote.synthesize("The door opens.", voice, LineSettings()))
    finally:
        remote.close()
    elapsed = time.perf_counter() - started
    measured = remote.measured_rtf()  # the bridge's pace as heard here: within what the whole call took
    assert measured is not None and measured[1] == 1 and 0 < measured[0] * audio <= elapsed
    monkeypatch.setenv("VOICED_IF_BRIDGE_TOKEN", "wrong")
    assert "HTTP 401" in (remote.probe() or "")
