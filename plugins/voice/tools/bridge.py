"""`engine bridge serve`: the XTTS engine behind HTTP, for players on other machines (plugins/voice/remote)."""

from __future__ import annotations

import argparse
from typing import Any

from engine import Config, is_loopback, kept_token
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import voice_settings


def register(subparsers: Any) -> None:
    bridge = subparsers.add_parser("bridge", help="serve XTTS to other machines over HTTP")
    bridge_actions = bridge.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = bridge_actions.add_parser("serve", help="run the XTTS bridge server (on the GPU machine)")
    serve.add_argument("--host", help="address to listen on (default from [voice.bridge], 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8020)")
    serve.add_argument("--insecure-no-token", action="store_true", help="no token (only on a loopback address)")
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    import uvicorn

    from plugins.voice.engines.xtts.engine import XttsEngine
    from plugins.voice.remote.server import create_app

    settings = voice_settings(config)
    host, port = args.host or settings.bridge.host, args.port or settings.bridge.port
    token: str | None = None
    if args.insecure_no_token:
        if not is_loopback(host):
            raise VoiceError(f"Refusing to serve on {host} without a token: only loopback addresses may skip it.")
    else:
        token, new = kept_token(settings.bridge.token_file, settings.bridge.token_env)
        if new:
            print(f"Bridge token (shown once, kept in {settings.bridge.token_file}): {token}")
    engine = XttsEngine(settings.xtts, print)
    missing = engine.missing()
    if missing:
        raise VoiceError(f"The bridge cannot serve XTTS: {missing}.")
    engine.prepare()
    app = create_app(engine, settings.bridge.voices_dir, token, settings.bridge.max_queue)
    print(f"XTTS bridge on http://{host}:{port} (POST /v1/audio/speech, GET /health)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
