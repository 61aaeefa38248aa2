"""The bridge's HTTP API (`engine bridge serve`, a real child process serving the tiny XTTS): tokens,
voices, bad input, the OpenAI client, a full queue, a fuzzer. Its faults: test_bridge_faults.py."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bridge_server import TOKEN, auth, register
from tests.support.common import run_engine
from tests.support.fuzz import fuzz
from tests.support.voice import write_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bridge")]  # one worker starts the shared bridge once


def test_tokens_request_ids_and_voices(bridge: Any, reference_wav: Path) -> None:
    server, _, _ = bridge
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


def test_bad_input_is_refused(bridge: Any, reference_wav: Path) -> None:
    server, _, _ = bridge
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


def test_the_official_openai_client_gets_streamed_wav(bridge: Any, reference_wav: Path) -> None:
    from openai import OpenAI

    server, _, _ = bridge
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


def test_a_full_queue_answers_429(bridge: Any, reference_wav: Path) -> None:
    server, _, _ = bridge
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


def test_the_api_description_needs_the_token_too(bridge: Any) -> None:
    server, _, _ = bridge
    assert httpx.get(f"{server.url}/openapi.json", timeout=30).status_code == 401
    described = httpx.get(f"{server.url}/openapi.json", headers=auth(), timeout=30)
    assert described.status_code == 200 and "/v1/audio/speech" in described.json()["paths"]
    assert "/openapi.json" not in described.json()["paths"]
    assert httpx.get(f"{server.url}/docs", headers=auth(), timeout=30).status_code == 404  # no page that loads scripts
    assert httpx.get(f"{server.url}/redoc", timeout=30).status_code in (401, 404)


def test_schemathesis_finds_no_server_errors(bridge: Any) -> None:
    import schemathesis

    server, _, _ = bridge
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers=auth())
    calls, failures = fuzz(schema, lambda case: case.call(headers=auth(), timeout=60), 80)
    assert not failures, failures
    assert len(calls) >= 40 and len({(m, p) for m, p, _ in calls}) >= 4  # it really explored the API


def test_no_token_is_refused_off_loopback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_engine("bridge", "serve", "--host", "0.0.0.0", "--insecure-no-token", "--config", config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("engine: Refusing to serve on 0.0.0.0 without a token: "
                                     "only loopback addresses may skip it.")
