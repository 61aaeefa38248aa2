"""`engine bridge serve`: the XTTS engine behind an HTTP API, for a remote GPU box (e.g. Colab).

OpenAI-compatible at its core (`POST /v1/audio/speech`), plus voice registration and health.
Every request needs `Authorization: Bearer <token>` (compared in constant time). One synthesis
runs at a time; a bounded queue answers 429 when full; a client that goes away cancels its line.
Nothing a client sends is used as a file path: voices are stored under the SHA-256 of their bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import struct
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from engine import token_matches, write_atomic
from plugins.voice.casting.references import BadReference, ReferenceStore
from plugins.voice.core.audio import to_int16
from plugins.voice.core.errors import SpeechFailure
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.xtts.engine import XTTS_LANGUAGES, XttsEngine
from plugins.voice.engines.xtts.speech import SAMPLE_RATE

VOICE_ID = re.compile(r"^[0-9a-f]{64}$")
MAX_UPLOAD = 10 * 1024 * 1024
MAX_TEXT = 2000


class SpeechRequest(BaseModel):
    model: str = Field("xtts", max_length=64)
    input: str = Field(min_length=1, max_length=MAX_TEXT)
    voice: str = Field(pattern=VOICE_ID.pattern)
    response_format: Literal["wav", "pcm"] = "wav"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    language: str = Field("en", max_length=8)


def wav_header(rate: int) -> bytes:
    """A streaming WAV header: sizes unknown (0xFFFFFFFF), PCM16 mono."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


class Bridge:
    """The server's state: the engine, the registered voices, the queue."""

    def __init__(self, engine: XttsEngine, voices_dir: Path, max_queue: int = 4) -> None:
        self.engine = engine
        self.voices_dir = voices_dir
        self.store = ReferenceStore(voices_dir / "checked")
        self.max_queue = max_queue
        self.waiting = 0
        self.slot = asyncio.Semaphore(1)

    def voice(self, voice_id: str, language: str, speed: float) -> Voice:
        accepted = self.store.get(self.voices_dir / f"{voice_id}.wav")
        if accepted is None:
            raise HTTPException(404, f"unknown voice {voice_id}; register it with POST /v1/audio/voices")
        return Voice(voice_id, voice_id, "xtts", language, speed, 0, {}, (accepted.path,), accepted.sha256)

    def register(self, data: bytes) -> dict[str, Any]:
        voice_id = hashlib.sha256(data).hexdigest()
        path = self.voices_dir / f"{voice_id}.wav"
        if self.store.get(path) is None:
            write_atomic(path, data)
            try:
                self.store.accept(path)
            except BadReference as exc:
                path.unlink(missing_ok=True)
                raise HTTPException(422, f"not a usable reference: {exc.reason}") from None
            self.engine.prepare([self.voice(voice_id, "en", 1.0)])  # latents now, not on the first line
        return {"id": voice_id, "seconds": round(self.store.get(path).seconds, 2)}  # type: ignore[union-attr]

    def load_registered(self) -> None:
        for path in sorted(self.voices_dir.glob("*.wav")):
            if VOICE_ID.match(path.stem):
                try:
                    self.store.accept(path)
                except BadReference:
                    path.unlink(missing_ok=True)

    def listing(self) -> list[dict[str, Any]]:
        return [{"id": path.stem, "seconds": round(a.seconds, 2)}
                for path, a in sorted(self.store.accepted.items()) if VOICE_ID.match(path.stem)]

    def delete(self, voice_id: str) -> bool:
        path = self.voices_dir / f"{voice_id}.wav"
        path.unlink(missing_ok=True)
        return self.store.forget(path)

    async def stream(self, request: Request, speech: SpeechRequest) -> AsyncIterator[bytes]:
        """Runs the synthesis in a thread, one at a time, and yields PCM16 as it comes."""
        voice = self.voice(speech.voice, speech.language, speech.speed)
        cancelled = threading.Event()
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

        def produce() -> None:
            stream = self.engine.synthesize(speech.input, voice, LineSettings(speech.speed, speech.language))
            try:
                for chunk in stream:
                    if cancelled.is_set():
                        break
                    data = to_int16(np.asarray(chunk.samples, dtype=np.float32)).tobytes()
                    loop.call_soon_threadsafe(chunks.put_nowait, data)
                loop.call_soon_threadsafe(chunks.put_nowait, None)
            except BaseException as exc:  # noqa: BLE001 - handed to the response, which aborts the stream
                loop.call_soon_threadsafe(chunks.put_nowait, exc)
            finally:
                getattr(stream, "close", lambda: None)()  # frees the model at once

        self.waiting += 1
        try:
            await self.slot.acquire()  # one synthesis at a time
        finally:
            self.waiting -= 1
        try:
            worker = loop.run_in_executor(None, produce)
            try:
                while (item := await chunks.get()) is not None:
                    if isinstance(item, BaseException):  # abort the connection, so the client sees it broke
                        raise RuntimeError(f"synthesis failed: {item}") from item
                    yield item
            finally:
                cancelled.set()  # also when the client went away
                await worker
        finally:
            self.slot.release()


def create_app(engine: XttsEngine, voices_dir: Path, token: str | None, max_queue: int = 4) -> FastAPI:
    bridge = Bridge(engine, voices_dir, max_queue)
    bridge.load_registered()
    app = FastAPI(title="voiced-if XTTS bridge", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.bridge = bridge

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Any]) -> Response:
        given = request.headers.get("x-request-id", "")
        rid = given if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", given) else uuid.uuid4().hex
        response: Response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    def authorized(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token_matches(given, token):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(authorized)])
    def description() -> dict[str, Any]:
        """The API's OpenAPI description, for clients and fuzzers that hold the token."""
        return app.openapi()

    @app.get("/health", dependencies=[Depends(authorized)])
    def health() -> dict[str, Any]:
        memory: dict[str, Any] = {}
        if engine.owner.placement.device == "cuda":
            import torch

            memory = {"gpu_allocated_mb": round(torch.cuda.memory_allocated() / 2**20),
                      "gpu_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20)}
        return {"model_loaded": engine.owner.model is not None, "device": engine.owner.placement.device,
                "error": engine.missing(),
                "memory": memory, "queue": bridge.waiting, "busy": bridge.slot.locked(),
                "languages": list(XTTS_LANGUAGES)}

    @app.post("/v1/audio/voices", status_code=201, dependencies=[Depends(authorized)])
    async def register(request: Request) -> dict[str, Any]:
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_UPLOAD:
            raise HTTPException(413, f"uploads are limited to {MAX_UPLOAD // 2**20} MB")
        data = bytearray()
        async for part in request.stream():
            data += part
            if len(data) > MAX_UPLOAD:
                raise HTTPException(413, f"uploads are limited to {MAX_UPLOAD // 2**20} MB")
        return await asyncio.get_running_loop().run_in_executor(None, bridge.register, bytes(data))

    @app.get("/v1/audio/voices", dependencies=[Depends(authorized)])
    def voices() -> dict[str, Any]:
        return {"voices": bridge.listing()}

    @app.delete("/v1/audio/voices/{voice_id}", status_code=204, dependencies=[Depends(authorized)])
    def delete(voice_id: str) -> Response:
        if not VOICE_ID.match(voice_id) or not bridge.delete(voice_id):
            raise HTTPException(404, "unknown voice")
        return Response(status_code=204)

    @app.post("/v1/audio/speech", dependencies=[Depends(authorized)])
    async def speech(request: Request, body: SpeechRequest) -> Response:
        if body.language not in XTTS_LANGUAGES:
            raise HTTPException(422, f"XTTS cannot speak language {body.language!r}")
        if bridge.waiting >= bridge.max_queue:
            raise HTTPException(429, "the bridge is busy; try again shortly", headers={"Retry-After": "2"})
        reason = engine.missing()
        if reason:
            raise HTTPException(503, f"XTTS is not available: {reason}")
        bridge.voice(body.voice, body.language, body.speed)  # 404 before streaming starts
        pcm = bridge.stream(request, body)
        if body.response_format == "pcm":
            return StreamingResponse(pcm, media_type="audio/pcm", headers={"X-Sample-Rate": str(SAMPLE_RATE)})

        async def wav() -> AsyncIterator[bytes]:
            yield wav_header(SAMPLE_RATE)
            async for part in pcm:
                yield part

        return StreamingResponse(wav(), media_type="audio/wav", headers={"X-Sample-Rate": str(SAMPLE_RATE)})

    @app.exception_handler(SpeechFailure)
    async def unavailable(request: Request, exc: SpeechFailure) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=503)

    return app
