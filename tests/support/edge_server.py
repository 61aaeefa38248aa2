"""A local websocket server that speaks edge-tts's protocol, for tests (Microsoft's servers cannot be reached here)."""

from __future__ import annotations

import asyncio
import io
import threading
import uuid

import numpy as np
import soundfile
from aiohttp import WSMsgType, web


def make_mp3(seconds: float = 0.6, frequency: float = 220.0) -> bytes:
    t = np.arange(int(24000 * seconds)) / 24000
    tone = (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, tone, 24000, format="MP3")
    return buffer.getvalue()


def _text(path: str) -> str:
    return f"X-RequestId:{uuid.uuid4().hex}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n{{}}"


def _audio(data: bytes) -> bytes:
    headers = f"X-RequestId:{uuid.uuid4().hex}\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n".encode()
    return len(headers).to_bytes(2, "big") + headers + data


class FakeEdgeServer:
    """mode: "ok", "403", "disconnect" (abort after one audio frame), "silent" (never answers) or "stall"
    (sends the first audio frame, then nothing, keeping the socket open). `open_sockets` counts the
    websockets the server holds now; `closed` is set each time a client's websocket is gone."""

    def __init__(self, mode: str = "ok", mp3: bytes | None = None, port: int = 0) -> None:
        self.mode = mode
        self.mp3 = mp3 or make_mp3()
        self.requests: list[str] = []
        self.open_sockets = 0
        self.closed = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = port
        self._runner: web.AppRunner | None = None
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    @property
    def url(self) -> str:
        return edge_url(self.port)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_get("/consumer/speech/synthesize/readaloud/edge/v1", self._handle)
        self._runner = web.AppRunner(app)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        self.loop.run_forever()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "403":
            return web.Response(status=403, text="Forbidden")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.open_sockets += 1
        try:
            return await self._converse(request, ws)
        finally:
            self.open_sockets -= 1
            self.closed.set()

    async def _converse(self, request: web.Request, ws: web.WebSocketResponse) -> web.WebSocketResponse:
        async for message in ws:
            if message.type != WSMsgType.TEXT or "Path:ssml" not in message.data:
                continue
            self.requests.append(message.data)
            if self.mode == "silent":
                await self._release.wait()
                return ws
            await ws.send_str(_text("turn.start"))
            half = len(self.mp3) // 2
            await ws.send_bytes(_audio(self.mp3[:half]))
            if self.mode == "disconnect":
                assert request.transport is not None
                request.transport.abort()
                return ws
            if self.mode == "stall":
                await ws.receive()  # nothing more is sent; returns when the client closes the socket
                return ws
            await ws.send_bytes(_audio(self.mp3[half:]))
            await ws.send_str(_text("turn.end"))
        return ws

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._release.set)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def edge_url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=test"
