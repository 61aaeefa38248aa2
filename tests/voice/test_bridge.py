"""The XTTS bridge: a real server process on 127.0.0.1 with the tiny XTTS checkpoint, real HTTP clients."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugins.voice.engines.models import XTTS, install
from tests.conftest import CRYPT, TOMB, engine_env, run_engine
from tests.support.net import free_port
from tests.voice.conftest import TINY_LINES, write_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bridge")]  # one worker builds the module's fixtures once
TOKEN = "test-token-0123456789"


class Server:
    def __init__(self, config: Path, port: int, env: dict[str, str]) -> None:
        self.config, self.port, self.env = config, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "bridge", "serve", "--port", str(self.port), "--config", str(self.config)],
            env=engine_env(**self.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                state = httpx.get(f"{self.url}/health", headers=auth(), timeout=2).json()
                if state.get("model_loaded"):
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            assert self.process.poll() is None, self.process.stdout.read() if self.process.stdout else ""
            time.sleep(0.2)
        raise AssertionError("the bridge did not come up")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_xtts_dir: Path, reference_wav: Path) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("bridge")
    port = free_port()
    (tmp / "gpu-box").mkdir()
    server_config = write_config(tmp / "gpu-box", voice=(
        f'[voice.bridge]\nvoices_dir = "{tmp / "served"}"\nmax_queue = 1\ntoken_file = "{tmp / "token"}"\n'
        f'[voice.xtts]\nmodel_dir = "{tmp / "models"}"\nlatents_dir = "{tmp / "latents"}"\n'
        f'device = "cpu"\n{TINY_LINES}'))  # the same on a machine with a GPU: /health says so below
    install(XTTS, tiny_xtts_dir, tmp / "models")
    # the laptop: no XTTS model of its own; one line points it at the bridge
    client_config = write_config(tmp, voice=(
        'auto_seed = false\n'
        f'[voice.xtts_remote]\nurls = ["http://127.0.0.1:{port}"]\nconnect_timeout = 1.0\nread_timeout = 20.0\n'))
    shutil.copy(reference_wav, tmp / "voices" / "god_deep.wav")
    server = Server(server_config, port, {"VOICED_IF_BRIDGE_TOKEN": TOKEN}).start()
    yield server, tmp, client_config
    server.kill()


def register(url: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/audio/voices", content=data, headers={**auth(), "Content-Type": "audio/wav"},
                      timeout=60)


def test_tokens_request_ids_and_voices(setup: Any, reference_wav: Path) -> None:
    server, _, _ = setup
    for headers in ({}, auth("wrong-token"), {"Authorization": TOKEN}):
        refused = httpx.get(f"{server.url}/health", headers=headers)
        assert refused.status_code == 401 and refused.headers["x-request-id"]
    health = httpx.get(f"{server.url}/health", headers={**auth(), "X-Request-ID": "abc-1"})
    assert health.status_code == 200 and health.headers["x-request-id"] == "abc-1"
    assert health.json()["device"] == "cpu" and health.json()["queue"] == 0 and health.json()["busy"] is False
    data = reference_wav.read_bytes()
    created = register(server.url, data)
    assert created.status_code == 201 and created.json()["id"] == hashlib.sha256(data).hexdigest()
    assert register(server.url, data).json()["id"] == created.json()["id"]
    listed = httpx.get(f"{server.url}/v1/audio/voices", headers=auth()).json()["voices"]
    assert created.json()["id"] in [v["id"] for v in listed]
    gone = httpx.delete(f"{server.url}/v1/audio/voices/{created.json()['id']}", headers=auth())
    assert gone.status_code == 204
    assert httpx.delete(f"{server.url}/v1/audio/voices/{created.json()['id']}", headers=auth()).status_code == 404
    assert httpx.delete(f"{server.url}/v1/audio/voices/..%2F..%2Fetc", headers=auth()).status_code == 404


def test_bad_input_is_refused(setup: Any, reference_wav: Path) -> None:
    server, _, _ = setup
    assert register(server.url, b"0" * (11 * 1024 * 1024)).status_code == 413
    assert register(server.url, b"not audio at all").status_code == 422
    voice = register(server.url, reference_wav.read_bytes()).json()["id"]
    speech = f"{server.url}/v1/audio/speech"
    for body in [{"input": "", "voice": voice}, {"input": "Hi", "voice": voice, "response_format": "mp3"},
                 {"input": "Hi", "voice": voice, "speed": 9}, {"input": "Hi", "voice": "../../etc/passwd"},
                 {"input": "x" * 5000, "voice": voice}, {"input": "Hi", "voice": voice, "language": "xx"}]:
        assert httpx.post(speech, json={"model": "xtts", **body}, headers=auth()).status_code == 422, body
    unknown = httpx.post(speech, json={"model": "xtts", "input": "Hi", "voice": "0" * 64}, headers=auth())
    assert unknown.status_code == 404


def test_the_official_openai_client_gets_streamed_wav(setup: Any, reference_wav: Path) -> None:
    from openai import OpenAI

    server, _, _ = setup
    voice = register(server.url, reference_wav.read_bytes()).json()["id"]
    client = OpenAI(base_url=f"{server.url}/v1", api_key=TOKEN)
    audio = client.audio.speech.create(model="xtts", voice=voice, input="Who walks so softly in my house?",
                                       response_format="wav", extra_body={"language": "en"})
    data = audio.read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 44 + 24000
    with httpx.stream("POST", f"{server.url}/v1/audio/speech", headers=auth(), timeout=60,
                      json={"model": "xtts", "input": "Hello there.", "voice": voice, "response_format": "pcm"}) as r:
        assert r.headers["x-sample-rate"] == "24000" and r.headers["content-type"] == "audio/pcm"
        assert sum(len(part) for part in r.iter_bytes()) % 2 == 0


def test_a_full_queue_answers_429(setup: Any, reference_wav: Path) -> None:
    server, _, _ = setup
    voice = register(server.url, reference_wav.read_bytes()).json()["id"]
    codes: list[int] = []

    def ask(n: int) -> None:
        body = {"model": "xtts", "input": f"Line number {n} is here.", "voice": voice, "response_format": "pcm"}
        codes.append(httpx.post(f"{server.url}/v1/audio/speech", json=body, headers=auth(), timeout=120).status_code)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(120)
    assert 429 in codes and 200 in codes


def test_play_through_the_bridge_falls_back_when_it_dies_and_returns(setup: Any) -> None:
    server, tmp, config = setup
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


def test_schemathesis_finds_no_server_errors(setup: Any) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    server, _, _ = setup
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers=auth())
    failures, calls = [], []

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy())
    def check(case: Any) -> None:
        response = case.call(headers=auth(), timeout=60)
        calls.append((case.method, case.operation.path, response.status_code))
        if response.status_code >= 500:
            failures.append((case.method, case.path, response.status_code, response.text[:200]))

    check()
    assert not failures, failures
    assert len(calls) >= 40 and len({(m, p) for m, p, _ in calls}) >= 4  # it really explored the API


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


def test_a_server_killed_mid_stream_makes_the_line_fall_back(setup: Any, piper: Any) -> None:
    from engine import SpokenLine, load_story
    from plugins.voice.casting.cast import Cast
    from plugins.voice.casting.references import ReferenceStore
    from plugins.voice.core.settings import CacheSettings, StallSettings, XttsRemoteSettings
    from plugins.voice.engines.xtts_remote import XttsRemoteEngine
    from plugins.voice.output.playback import Output
    from plugins.voice.pipeline.fallback import Fallback
    from plugins.voice.pipeline.speaker import Speaker
    from plugins.voice.store.cache import AudioCache

    server, tmp, _ = setup

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


def test_a_frozen_bridge_is_given_up_within_the_budget_and_its_slot_freed(setup: Any, piper: Any,
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

    server, tmp, _ = setup
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


def test_requests_go_to_healthy_bridges_which_are_timed(setup: Any, monkeypatch: pytest.MonkeyPatch,
                                                       reference_wav: Path) -> None:
    import time

    from plugins.voice.core.settings import XttsRemoteSettings
    from plugins.voice.core.voice import LineSettings, Voice
    from plugins.voice.engines.xtts_remote import XttsRemoteEngine

    server, _, _ = setup
    monkeypatch.setenv("VOICED_IF_BRIDGE_TOKEN", TOKEN)
    dead = f"http://127.0.0.1:{free_port()}"
    remote = XttsRemoteEngine(XttsRemoteSettings(urls=(dead, server.url), connect_timeout=1))
    assert remote.probe() is None and remote.healthy == [server.url]
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


def test_no_token_is_refused_off_loopback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_engine("bridge", "serve", "--host", "0.0.0.0", "--insecure-no-token", "--config", config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("engine: Refusing to serve on 0.0.0.0 without a token: "
                                     "only loopback addresses may skip it.")
