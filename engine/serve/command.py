"""`engine serve STORY`: checks the story, tells the plugins the server starts (engine_serve_started), and
serves the page until Ctrl+C; then every game is saved and ended, and the plugins told it stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from engine.access import is_loopback, kept_token
from engine.config import Config, engine_settings
from engine.context import PlayContext
from engine.core.errors import ConfigError, EngineError
from engine.folders import config_home
from engine.formats.registry import known_formats
from engine.loader import load_story
from engine.serve.players import Players, Shelf
from engine.tables import at_least, between, read_table
from engine.trace import TracePlugin, TraceWriter

TOKEN_FILE = "serve-token"
log = logging.getLogger("engine.serve")


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = field(default=8000, metadata=between(0, 65535))  # 0: any free port (printed)
    max_players: int = field(default=50, metadata=at_least(1))  # games open at once on the server
    games_per_player: int = field(default=3, metadata=at_least(1))  # one more replaces the player's oldest
    trust_proxy: bool = False  # believe X-Forwarded-Proto (set it behind a reverse proxy that serves HTTPS)
    idle_minutes: float = field(default=20.0, metadata=at_least(0.1))  # an idle game is saved and closed


def register(sub: Any) -> argparse.ArgumentParser:
    serve = sub.add_parser("serve", help="play a story in the browser, every character voiced")
    serve.add_argument("story", metavar="STORY_DIR", type=Path)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; any other needs the token)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--trace", metavar="FILE.jsonl", type=Path, help="every game's events, tagged with its game")
    serve.add_argument("--token", help="the token players need off loopback (default: made once and kept)")
    serve.set_defaults(handler=serve_command)
    return serve


def serve_command(args: argparse.Namespace, config: Config, pm: pluggy.PluginManager) -> int:
    try:
        import uvicorn

        from engine.serve.app import build_app
    except ImportError as exc:
        raise EngineError(f"engine serve needs the serve extra ({exc.name} is missing): "
                          "pip install -c requirements.lock 'voiced-if[serve]'") from None
    settings = read_table(ServeSettings, config.get("serve", {}), config.folder, "serve")
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    token = None if is_loopback(host) and not args.token else (args.token or kept_token(config_home() / TOKEN_FILE)[0])
    story = load_story(args.story, known_formats(pm))
    writer = TraceWriter(args.trace) if args.trace else None
    trace = writer.write if writer else (lambda record: None)
    if writer:
        pm.register(TracePlugin(writer, tag_games=True), name="trace")
    for problems in pm.hook.engine_validate(story=story, config=config):
        for problem in problems:
            if problem.severity == "error":
                notify(str(problem))
    listener = _listen(host, port)
    context = PlayContext(story, config, vars(args), trace, notify)
    try:  # a plugin that failed to start is told it stopped too (it stops the parts it built so far)
        pm.hook.engine_serve_started(context=context)
        engine = engine_settings(config)
        players = Players(context, pm.hook, engine, Shelf(engine.saves_dir, story), settings.max_players,
                          settings.idle_minutes * 60, settings.games_per_player)
        port = listener.getsockname()[1]
        query = f"?token={token}" if token else ""
        here, others = _addresses(host)
        print(f"Serving '{story.title}' at {_url(here, port)}{query} (Ctrl+C stops).", flush=True)
        for other in others:  # bound to every address: where a phone or another computer opens it
            print(f"On your network: {_url(other, port)}{query}", flush=True)
        server = _server(uvicorn, build_app(players, story.title, token, trust_proxy=settings.trust_proxy), players)
        try:
            server.run(sockets=[listener])
        except KeyboardInterrupt:
            pass  # Ctrl+C is how a server stops (uvicorn raises it again once it has shut down)
        finally:
            players.close_all()
    finally:
        pm.hook.engine_serve_stopped()
        if writer:
            writer.close()
        listener.close()
    print("Stopped; every game was saved.", flush=True)
    return 0


def notify(text: str) -> None:
    """The operator's notices (an engine went down, a voice reloaded, each game's): the server's console and log,
    never a player's page (a plugin tells a player what changes for them through PlayContext.tell_player)."""
    log.info("%s", text)
    print(f"engine serve: {text}", file=sys.stderr, flush=True)


def _server(uvicorn: Any, app: Any, players: Players) -> Any:
    class Server(uvicorn.Server):  # type: ignore[misc,name-defined]
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            """Ctrl+C: every game is saved and closed first, so each line being streamed ends now and no
            request is still waiting when uvicorn waits for them (it cancels, with a traceback, after 10 s)."""
            await asyncio.to_thread(players.close_all)
            await super().shutdown(sockets)

    # proxy_headers off: X-Forwarded-* is believed only with [serve] trust_proxy (guard.over_https), from anyone
    return Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10, proxy_headers=False))


def _url(host: str, port: int) -> str:
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}/"


def _addresses(host: str) -> tuple[str, list[str]]:
    """The address to open on this machine, and, for a server bound to every address (0.0.0.0, ::), this
    machine's other addresses, which a phone on the same network can open (0.0.0.0 itself opens nothing)."""
    if host not in ("0.0.0.0", "::", ""):
        return host, []
    import psutil  # the [serve] extra's

    family = socket.AF_INET6 if host == "::" else socket.AF_INET
    found = [entry.address.split("%")[0] for entries in psutil.net_if_addrs().values() for entry in entries
             if entry.family == family]
    return ("::1" if host == "::" else "127.0.0.1"), [address for address in found if not is_loopback(address)]


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    listener.listen(128)
    return listener
