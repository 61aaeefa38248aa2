"""xtts-remote: XTTS on a bridge server (`engine bridge serve` on a GPU box), streamed over HTTP."""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import numpy as np

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import EngineUnavailable, SynthesisFailed, VoiceNotSupported
from plugins.voice.core.settings import XttsRemoteSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.acting import acted, delivery
from plugins.voice.engines.aio import NetworkLoop
from plugins.voice.engines.base import EngineBase
from plugins.voice.engines.speeds import Speeds

HEADER_BYTES = 44
CHUNK_BYTES = 4800  # 0.1 s of 24 kHz PCM16 per yielded chunk


class Bridges:
    """The bridge servers of [voice.xtts_remote]: their health, whose turn it is, the voices each has."""

    def __init__(self, settings: XttsRemoteSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.healthy: list[str] = list(settings.urls)
        self.registered: dict[str, set[str]] = {url: set() for url in settings.urls}
        self.turn = itertools.count()
        self.lock = threading.Lock()

    def token(self) -> str | None:
        return os.environ.get(self.settings.token_env) or None

    def client(self, kind: Any = None) -> Any:
        import httpx

        token = self.token()
        timeout = httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout)
        return (kind or httpx.Client)(timeout=timeout, headers={"Authorization": f"Bearer {token}"} if token else {})

    def missing(self) -> str | None:
        if not self.settings.urls:
            return "no bridge URL in [voice.xtts_remote] urls"
        if not self.token():
            return f"set the bridge token in ${self.settings.token_env}"
        return None

    def check(self) -> str | None:
        """Asks every bridge for /health; keeps the ones with a loaded model."""
        reason = self.missing()
        if reason:
            return reason
        import httpx

        healthy, reasons = [], []
        with self.client() as client:
            for url in self.settings.urls:
                try:
                    response = client.get(f"{url}/health")
                    state = response.json() if response.status_code == 200 else {}
                except (httpx.HTTPError, ValueError) as exc:
                    reasons.append(f"{url}: {type(exc).__name__}")
                    continue
                if state.get("model_loaded") and not state.get("error"):
                    healthy.append(url)
                else:
                    reasons.append(f"{url}: HTTP {response.status_code} {state.get('error') or ''}".strip())
        with self.lock:
            self.healthy = healthy
        return None if healthy else "no healthy bridge (" + "; ".join(reasons) + ")"

    def next_url(self) -> str:
        with self.lock:
            if not self.healthy:
                raise EngineUnavailable(self.name, "no healthy bridge")
            return self.healthy[next(self.turn) % len(self.healthy)]

    async def register(self, client: Any, url: str, voice: Voice) -> str:
        """Uploads the voice's reference once per server (it is stored under its SHA-256)."""
        if len(voice.references) != 1:
            raise VoiceNotSupported(self.name, f"the bridge needs exactly one reference WAV for {voice.voice_id}")
        data = voice.references[0].read_bytes()
        voice_id = hashlib.sha256(data).hexdigest()
        if voice_id not in self.registered[url]:
            known = await client.get(f"{url}/v1/audio/voices")
            _raise_for(known, self.name)
            ids = {entry["id"] for entry in known.json()["voices"]}
            if voice_id not in ids:
                _raise_for(await client.post(f"{url}/v1/audio/voices", content=data,
                                             headers={"Content-Type": "audio/wav"}), self.name)
            self.registered[url].add(voice_id)
        return voice_id


class XttsRemoteEngine(EngineBase):
    """Requests run on the engine's own loop thread (engines/aio.py): a bridge that stops sending
    mid-line (frozen, or its model stuck) has its request cancelled when the reader's budget runs out,
    which closes the connection, so the bridge frees its slot."""

    name = "xtts-remote"
    clones = True
    pausable = False
    network = True
    takes_vary = True  # the bridge's XTTS samples each request

    def __init__(self, settings: XttsRemoteSettings) -> None:
        self.settings = settings
        self.bridges = Bridges(settings, self.name)
        self.loop = NetworkLoop(self.name)
        self.speeds = Speeds()  # the bridge's pace as heard here (queue and network included)

    def missing(self) -> str | None:
        return self.bridges.missing()

    def probe(self) -> str | None:
        return self.bridges.check()

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        pass

    def close(self) -> None:
        self.loop.close()

    def identity(self, voice: Voice) -> str:
        return "xtts-remote"

    def measured_rtf(self) -> tuple[float, int] | None:
        """(median real-time factor of the last lines streamed whole, lines measured): from the request to its
        last byte. A bridge slower than speech is then paced like a slow local model (whole lines, longer patience)."""
        return self.speeds.measured()

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        import httpx

        if not voice.references:
            raise VoiceNotSupported(self.name, f"no reference WAV for voice {voice.voice_id} in voices/")
        url = self.bridges.next_url()
        plan = delivery(self, voice, settings.speed)
        body = {"model": "xtts", "input": text, "response_format": "pcm", "speed": plan.speed,
                "language": settings.language}
        try:
            yield from acted(self.loop.stream(self._speak(url, voice, body), settings.budget), plan)
        except httpx.TimeoutException:
            raise SynthesisFailed(self.name, f"{url} timed out") from None
        except httpx.HTTPError as exc:
            raise SynthesisFailed(self.name, f"{url} broke off ({type(exc).__name__})") from None

    async def _speak(self, url: str, voice: Voice, body: dict[str, Any]) -> AsyncIterator[AudioChunk]:
        """On the loop: registers the voice, then streams the line as 0.1 s chunks."""
        import httpx

        async with self.bridges.client(httpx.AsyncClient) as client:
            body["voice"] = await self.bridges.register(client, url, voice)
            started, received = time.perf_counter(), 0
            async with client.stream("POST", f"{url}/v1/audio/speech", json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                _raise_for(response, self.name)
                rate = int(response.headers.get("x-sample-rate", "24000"))
                pending = b""
                async for part in response.aiter_bytes():
                    pending += part
                    received += len(part)
                    usable = len(pending) - len(pending) % CHUNK_BYTES
                    if usable:
                        yield _chunk(pending[:usable], rate)
                        pending = pending[usable:]
                if pending:
                    yield _chunk(pending[: len(pending) - len(pending) % 2], rate)
            self.speeds.add(time.perf_counter() - started, received / 2 / rate)  # the loop runs ahead of the reader


def _chunk(data: bytes, rate: int) -> AudioChunk:
    return AudioChunk(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, rate)


def _raise_for(response: Any, name: str) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        detail = ""
    if response.status_code == 422:
        raise VoiceNotSupported(name, f"the bridge refused the request: {detail}")
    raise EngineUnavailable(name, f"the bridge answered HTTP {response.status_code} {detail}".strip())
