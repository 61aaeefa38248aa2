"""edge-tts against a local server speaking its websocket protocol.

Microsoft's service cannot be reached here; the fake server covers the protocol
edge-tts speaks, not Microsoft's voices or its real token checks.
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
import soundfile

from plugins.voice.core.errors import EngineUnavailable, SynthesisFailed
from plugins.voice.core.settings import EdgeSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.edge import DEFAULT_VOICES, EdgeEngine
from tests.support.edge_server import FakeEdgeServer, edge_url

GUIDE = Voice("guide", "guide_young", "edge", "en", 1.1, 2, {"edge": "en-US-GuyNeural"})


def engine_for(url: str, timeout: int = 2) -> EdgeEngine:
    return EdgeEngine(EdgeSettings(endpoint=url, connect_timeout=timeout, receive_timeout=timeout))


def test_speaks_and_decodes_exactly_what_the_server_sent(edge_server: FakeEdgeServer) -> None:
    (chunk,) = engine_for(edge_server.url).synthesize("Hello there.", GUIDE, LineSettings(speed=1.1))
    expected, rate = soundfile.read(io.BytesIO(edge_server.mp3), dtype="float32")
    assert chunk.sample_rate == rate == 24000
    assert np.array_equal(chunk.samples, expected)
    (request,) = edge_server.requests
    assert "(en-US, GuyNeural)" in request and "rate='+10%'" in request and "Hello there." in request


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("403", EngineUnavailable, "refused the connection (HTTP 403)"),
        ("disconnect", SynthesisFailed, "broke off in the middle of the line"),
        ("silent", EngineUnavailable, "timed out"),
    ],
)
def test_failures_mean_unavailable_fast(mode: str, error: type, reason: str) -> None:
    server = FakeEdgeServer(mode)
    try:
        started = time.monotonic()
        with pytest.raises(error, match=re.escape(reason)):
            list(engine_for(server.url, timeout=1).synthesize("Hello.", GUIDE, LineSettings()))
        assert time.monotonic() - started < 5
    finally:
        server.close()


def test_offline_is_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="offline"):
        list(engine_for("wss://speech.invalid/edge/v1?x=1").synthesize("Hi.", GUIDE, LineSettings()))


def test_nothing_listening_is_unavailable() -> None:
    from tests.support.net import free_port

    with pytest.raises(EngineUnavailable, match="cannot reach"):
        list(engine_for(edge_url(free_port())).synthesize("Hi.", GUIDE, LineSettings()))


def test_characters_get_distinct_default_voices() -> None:
    engine = EdgeEngine(EdgeSettings())
    names = [engine.voice_name(Voice(f"c{i}", "v", "edge", "en", 1.0, i)) for i in range(len(DEFAULT_VOICES))]
    assert len(set(names)) == len(DEFAULT_VOICES)
    assert engine.voice_name(GUIDE) == "en-US-GuyNeural"  # a profile's own choice wins
