"""The HTTP side of `engine serve` (FastAPI): the page, and the API it plays through (docs/serve.md).

Every URL in the page is relative, so the server works behind a reverse proxy under any prefix. Off
loopback every request needs the server's token (a cookie the first `?token=` visit sets, or a Bearer
header); a player is a random id in a cookie; games and saves are only ever found under it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from html import escape
from importlib import resources
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from engine.core.errors import EngineError
from engine.hookspecs import LineSound
from engine.serve.audio import Mp3Cache, Mp3Stream
from engine.serve.game import BadRequest, Game
from engine.serve.guard import Guard, over_https
from engine.serve.players import PLAYER, Full, NotFound, Players

log = logging.getLogger(__name__)
PIECE_BYTES = 16 * 1024  # a kept line leaves in pieces of this size
SETTLE = 0.02  # seconds a line's first audio waits to learn whether it is the whole line
WAIT = 0.5  # seconds between checks that a waiting audio request's client is still there
PAGE_FILES = {"play.js": "text/javascript", "voice.js": "text/javascript", "server.js": "text/javascript",
              "saves.js": "text/javascript", "stored.js": "text/javascript", "play.css": "text/css"}
STATUS = {NotFound: 404, BadRequest: 400, Full: 503}


class OpenGame(BaseModel):
    slot: str | None = None  # continue from this save (None: a new game)


class Choice(BaseModel):
    number: int


def build_app(players: Players, title: str, token: str | None, sweep_seconds: float = 30.0,
              trust_proxy: bool = False) -> FastAPI:
    app = FastAPI(title=f"engine serve: {title}", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_sweeping(players, sweep_seconds))
    encoded = Mp3Cache()
    _handlers(app)

    app.add_middleware(Guard, token=token, trust_proxy=trust_proxy)

    @app.get("/")
    def page(request: Request) -> Response:
        html = resources.files("engine.serve").joinpath("page/index.html").read_text(encoding="utf-8")
        answer = HTMLResponse(html.replace("{{title}}", escape(title)))
        if not PLAYER.match(request.cookies.get("player", "")):
            answer.set_cookie("player", secrets.token_hex(16), max_age=400 * 86400, httponly=True, samesite="strict",
                              secure=over_https(request, trust_proxy))
        return answer

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in PAGE_FILES:
            raise NotFound(f"There is no file '{name[:40]}' here.")
        text = resources.files("engine.serve").joinpath(f"page/{name}").read_text(encoding="utf-8")
        return Response(text, media_type=PAGE_FILES[name])

    @app.get("/api/saves")
    def saves(request: Request) -> dict[str, Any]:
        return {"saves": players.shelf.list(_player(request))}

    @app.post("/api/games")
    def open_game(request: Request, body: OpenGame, after: BackgroundTasks) -> dict[str, Any]:
        game, events = players.open(_player(request), body.slot)
        after.add_task(players.autosave, game)
        return {"game": game.game_id, **_moved(game, events)}

    @app.post("/api/games/{game_id}/choices")
    def choose(request: Request, game_id: str, body: Choice, after: BackgroundTasks) -> dict[str, Any]:
        game = players.get(_player(request), game_id)
        events = players.choose(game, body.number)
        after.add_task(players.autosave, game)
        return _moved(game, events)

    @app.post("/api/games/{game_id}/saves/{slot}")
    def save(request: Request, game_id: str, slot: str) -> dict[str, Any]:
        game = players.get(_player(request), game_id)
        if slot == "auto":
            raise BadRequest("The autosave slot is the game's own; save to 1, 2 or 3.")
        players.save(game, slot)
        return {"saves": players.shelf.list(game.player)}

    @app.post("/api/games/{game_id}/lines/{number}/skip")
    def skip(request: Request, game_id: str, number: int) -> dict[str, Any]:
        players.get(_player(request), game_id).skip(number)
        return {}

    @app.post("/api/games/{game_id}/close")
    def close(request: Request, game_id: str) -> dict[str, Any]:
        players.close(players.get(_player(request), game_id), "closed")
        return {}

    @app.get("/api/games/{game_id}/lines/{number}")
    async def line(request: Request, game_id: str, number: int) -> Response:
        game = players.get(_player(request), game_id)
        sound = game.sound(number)  # quick: a lock and a dict (the voice only queues a choice list it says)
        if sound is None:
            raise NotFound(f"Line {number} has no audio here (not reached, or too far back to replay).")
        first, finished = sound.read(0, 0)  # most often the line is there already: no thread hand-over
        while not first and not finished:  # the line's turn may not have come yet
            if await request.is_disconnected():
                return Response(status_code=204)
            first, finished = await run_in_threadpool(sound.read, 0, WAIT)
        if not first:
            return Response(status_code=204)  # not spoken (a sound cue, a skipped line, no engine could)
        if not finished:  # woken by its audio, a whole line is marked whole a moment later: keep it encoded
            more, finished = await run_in_threadpool(sound.read, len(first), SETTLE)
            first += more
        return StreamingResponse(_stream(sound, first, finished, encoded), media_type="audio/mpeg",
                                 headers={"Cache-Control": "no-store"})

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        names = sorted(thread.name for thread in threading.enumerate())  # whose they are is for the reader to say
        return {"players": players.count(), "max_players": players.max_players, "threads": len(names),
                "thread_names": names,
                "encoded": {"hits": encoded.hits, "misses": encoded.misses, "bytes": encoded.size}}

    return app


async def _stream(sound: LineSound, data: bytes, finished: bool, encoded: Mp3Cache) -> AsyncIterator[bytes]:
    """The line as MP3, a piece at a time from the first (a whole line too: its first byte leaves at once),
    more as it is made; the client going away ends it (Starlette cancels this generator). A line whole at
    the first read is kept encoded: the next player to hear the same audio gets those bytes."""
    kept = encoded.get(_digest(data)) if finished else None
    if kept is not None:
        for start in range(0, len(kept), PIECE_BYTES):
            yield kept[start:start + PIECE_BYTES]
        return
    encoder, sent, offset, whole = Mp3Stream(sound.rate), [], 0, [data]
    piece = sound.rate  # bytes: half a second of 16-bit samples
    while True:
        for start in range(0, len(data), piece):
            sent.append(await run_in_threadpool(encoder.encode, data[start:start + piece]))
            yield sent[-1]
        offset += len(data)
        if finished:
            break
        data, finished = await run_in_threadpool(sound.read, offset, WAIT)
        whole.append(data)
    sent.append(encoder.finish())
    yield sent[-1]
    encoded.put(_digest(b"".join(whole)), b"".join(sent))


def _digest(pcm: bytes) -> bytes:
    return hashlib.blake2b(pcm, digest_size=16).digest()


def _moved(game: Game, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"events": events, "notices": game.take_notices()}


def _player(request: Request) -> str:
    player = request.cookies.get("player", "")
    if not PLAYER.match(player):
        raise BadRequest("This browser has no player id (cookies off?); reload the page.")
    return player


def _handlers(app: FastAPI) -> None:
    """Our errors become 4xx with their one sentence; a bug is logged and answered 500 with one sentence."""

    @app.exception_handler(EngineError)
    async def known(request: Request, exc: EngineError) -> Response:
        return JSONResponse({"detail": str(exc)}, STATUS.get(type(exc), 409))

    @app.exception_handler(HTTPException)
    async def routing(request: Request, exc: HTTPException) -> Response:
        sentence = {404: "There is nothing at this address.", 405: "This address does not take that method."}
        return JSONResponse({"detail": sentence.get(exc.status_code, f"{exc.detail}.")}, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return JSONResponse({"detail": f"Bad request: {where or 'body'}: {first.get('msg', 'not understood')}."}, 422)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("request %s failed", request.url.path)
        return JSONResponse({"detail": "The server failed on this request; its log says why."}, 500)


def _sweeping(players: Players, every: float) -> Callable[[FastAPI], Any]:
    """The app's lifespan: a task that saves and closes idle games (cancelled when the server stops)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(every)
                await run_in_threadpool(players.sweep, time.monotonic())

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
