"""The HTTP side of `engine serve` (FastAPI): the page, and the API it plays through (docs/serve.md).

Every URL in the page is relative, so the server works behind a reverse proxy under any prefix. Off
loopback every request needs the server's token (a cookie the first `?token=` visit sets, or a Bearer
header); a player is a random id in a cookie; games and saves are only ever found under it."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from engine.core.errors import EngineError
from engine.hookspecs import LineSound
from engine.serve.audio import Mp3Stream
from engine.serve.game import BadRequest, Game
from engine.serve.players import PLAYER, Full, NotFound, Players

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024  # every request body the page sends is a few bytes
WAIT = 0.5  # seconds between checks that a waiting audio request's client is still there
PAGE_FILES = {"play.js": "text/javascript", "play.css": "text/css"}
HEADERS = {"Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; img-src 'self' data:",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
STATUS = {NotFound: 404, BadRequest: 400, Full: 503}


class OpenGame(BaseModel):
    slot: str | None = None  # continue from this save (None: a new game)


class Choice(BaseModel):
    number: int


def build_app(players: Players, title: str, token: str | None, sweep_seconds: float = 30.0) -> FastAPI:
    app = FastAPI(title=f"engine serve: {title}", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_sweeping(players, sweep_seconds))
    _handlers(app)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        size = request.headers.get("content-length", "0")
        if not size.isdigit() or int(size) > MAX_BODY or "chunked" in request.headers.get("transfer-encoding", ""):
            return JSONResponse({"detail": f"Request bodies here are at most {MAX_BODY} bytes, sent whole."}, 413)
        given = request.cookies.get("token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if token and not (given and hmac.compare_digest(given.encode(), token.encode())):
            if request.url.path.endswith("/") and hmac.compare_digest(request.query_params.get("token", ""), token):
                answer: Response = RedirectResponse("./", 303)  # relative: right behind any proxy prefix
                answer.set_cookie("token", token, httponly=True, samesite="strict")
                return answer
            return JSONResponse({"detail": "This server needs its token: open the address it printed, with "
                                           "?token=..."}, 401)
        answer = await call_next(request)
        answer.headers.update(HEADERS)
        return answer

    @app.get("/")
    def page(request: Request) -> Response:
        html = resources.files("engine.serve").joinpath("page/index.html").read_text(encoding="utf-8")
        answer = HTMLResponse(html.replace("{{title}}", _escape(title)))
        if not PLAYER.match(request.cookies.get("player", "")):
            answer.set_cookie("player", secrets.token_hex(16), max_age=400 * 86400, httponly=True, samesite="strict")
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
    def open_game(request: Request, body: OpenGame) -> dict[str, Any]:
        game, events = players.open(_player(request), body.slot)
        return {"game": game.game_id, **_moved(game, events)}

    @app.post("/api/games/{game_id}/choices")
    def choose(request: Request, game_id: str, body: Choice) -> dict[str, Any]:
        game = players.get(_player(request), game_id)
        return _moved(game, players.choose(game, body.number))

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
        sound = await run_in_threadpool(game.sound, number)
        if sound is None:
            raise NotFound(f"Line {number} has no audio here (not reached, or too far back to replay).")
        first, finished = b"", False
        while not first and not finished:  # the line's turn may not have come yet
            if await request.is_disconnected():
                return Response(status_code=204)
            first, finished = await run_in_threadpool(sound.read, 0, WAIT)
        if not first:
            return Response(status_code=204)  # not spoken (a sound cue, a skipped line, no engine could)
        return StreamingResponse(_stream(sound, first, finished), media_type="audio/mpeg",
                                 headers={"Cache-Control": "no-store"})

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        names = [thread.name for thread in threading.enumerate()]
        return {"players": players.count(), "max_players": players.max_players, "threads": len(names),
                "voice_threads": sum(name.startswith("voice-") for name in names)}

    return app


async def _stream(sound: LineSound, data: bytes, finished: bool) -> AsyncIterator[bytes]:
    """The line as MP3, a piece at a time from the first (a whole line too: its first byte leaves at once),
    more as it is made; the client going away ends it (Starlette cancels this generator)."""
    encoder = Mp3Stream(sound.rate)
    piece = sound.rate * 2 // 2  # half a second of 16-bit samples
    offset = 0
    while True:
        for start in range(0, len(data), piece):
            yield await run_in_threadpool(encoder.encode, data[start:start + piece])
        offset += len(data)
        if finished:
            break
        data, finished = await run_in_threadpool(sound.read, offset, WAIT)
    yield encoder.finish()


def _moved(game: Game, events: list[dict[str, Any]]) -> dict[str, Any]:
    notices, game.notices[:] = list(game.notices), []
    return {"events": events, "notices": notices}


def _player(request: Request) -> str:
    player = request.cookies.get("player", "")
    if not PLAYER.match(player):
        raise BadRequest("This browser has no player id (cookies off?); reload the page.")
    return player


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


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
