"""The bridge server (`engine bridge serve`) as a real child process, for the bridge tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.common import engine_env

TOKEN = "test-token-0123456789"


class Server:
    def __init__(self, config: Path, port: int, env: dict[str, str]) -> None:
        self.config, self.port, self.env = config, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "bridge", "serve", "--port", str(self.port), "--config", str(self.config)],
            env=engine_env(**self.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                state = httpx.get(f"{self.url}/health", headers=auth(), timeout=2).json()
                if state.get("model_loaded"):
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            assert self.process.poll() is None, self.process.stdout.read() if self.process.stdout else ""
            time.sleep(0.2)
        raise AssertionError("the bridge did not come up")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(url: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/audio/voices", content=data, headers={**auth(), "Content-Type": "audio/wav"},
                      timeout=60)
