"""The XTTS bridge on loopback against the local engine on the same model, in one run.

    .venv/bin/python bench/bridge.py [--lines N] [--model-dir DIR]

Both sides run the same XttsEngine code (the bridge in a uvicorn server thread of this
process), seeded alike; the difference is the HTTP path: registration, streaming, PCM framing.
Without --model-dir it uses the tiny random checkpoint the tests use (CPU).
"""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the repository's packages

import torch  # noqa: E402
import uvicorn  # noqa: E402

from bench.xtts import LINES, setup  # noqa: E402
from plugins.voice.casting.cast import Voice  # noqa: E402
from plugins.voice.core.settings import XttsRemoteSettings, XttsSettings  # noqa: E402
from plugins.voice.engines.base import LineSettings  # noqa: E402
from plugins.voice.engines.xtts.engine import XttsEngine  # noqa: E402
from plugins.voice.engines.xtts_remote import XttsRemoteEngine  # noqa: E402
from plugins.voice.remote.server import create_app  # noqa: E402


def timed(stream) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    started, first = time.monotonic(), None
    for _ in stream:
        if first is None:
            first = time.monotonic() - started
    return (first or 0.0) * 1000, (time.monotonic() - started) * 1000


def main() -> None:
    args, work, ref, ref_hash = setup("bench-bridge-")

    def loaded(latents: str) -> XttsEngine:
        engine = XttsEngine(XttsSettings(model_dir=args.model_dir, latents_dir=work / latents, while_loading="wait"))
        engine.prepare()
        engine.owner.loaded.wait()
        return engine

    local, served = loaded("l1"), loaded("l2")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "bench-token"
    server = uvicorn.Server(uvicorn.Config(create_app(served, work / "served", token), port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    os.environ["VOICED_IF_BRIDGE_TOKEN"] = token
    remote = XttsRemoteEngine(XttsRemoteSettings(urls=(f"http://127.0.0.1:{port}",)))
    voice = Voice("god", "god", "xtts", "en", 1.0, 0, {}, (ref,), ref_hash)
    list(remote.synthesize("Warm up.", voice, LineSettings()))  # registers the voice, computes its latents
    list(local.synthesize("Warm up.", voice, LineSettings()))

    rows: dict[str, list[tuple[float, float]]] = {"local": [], "bridge": []}
    for index in range(args.lines):
        text = LINES[index % len(LINES)]
        torch.manual_seed(index)
        rows["local"].append(timed(local.synthesize(text, voice, LineSettings())))
        torch.manual_seed(index)
        rows["bridge"].append(timed(remote.synthesize(text, voice, LineSettings())))
    server.should_exit = True

    def med(name: str, column: int) -> float:
        return statistics.median(r[column] for r in rows[name])

    print(f"XTTS on {local.owner.placement.device}, {args.lines} lines, bridge on loopback "
          f"(voice {hashlib.sha256(ref.read_bytes()).hexdigest()[:8]})\n")
    print("| | first audio median ms | total median ms |")
    print("|---|---|---|")
    print(f"| local engine | {med('local', 0):.0f} | {med('local', 1):.0f} |")
    print(f"| through the bridge | {med('bridge', 0):.0f} | {med('bridge', 1):.0f} |")
    print(f"| ratio bridge/local | {med('bridge', 0) / med('local', 0):.3f} | {med('bridge', 1) / med('local', 1):.3f} |")


if __name__ == "__main__":
    main()
