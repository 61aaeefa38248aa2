from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.voice.engines.piper import PiperEngine
from plugins.voice.settings import PiperSettings
from tests.conftest import TOMB
from tests.voice.edge_server import FakeEdgeServer


def write_config(tmp_path: Path, voice: str = "", engine: str = "") -> Path:
    """A config.toml with a null sink and a private cache, voices/ and saves."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n{engine}\n'
        f'[voice]\nsink = "null"\nvoices_dir = "{tmp_path / "voices"}"\nreprobe_seconds = 0.0\n{voice}\n'
        f'[voice.cache]\ndir = "{tmp_path / "cache"}"\n',
        encoding="utf-8",
    )
    (tmp_path / "voices").mkdir(exist_ok=True)
    return path


@pytest.fixture
def voice_config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def story_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tomb"
    shutil.copytree(TOMB, target)
    return target


@pytest.fixture(scope="session")
def piper() -> PiperEngine:
    """The real Piper engine with the bundled voice (loaded once for the session)."""
    engine = PiperEngine(PiperSettings())
    engine.prepare()
    return engine


@pytest.fixture
def edge_server() -> Iterator[FakeEdgeServer]:
    server = FakeEdgeServer("ok")
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def alsa_capture(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An ALSA default device that appends every sample played to a file (no sound card needed)."""
    home = tmp_path / "alsa-home"
    home.mkdir()
    captured = tmp_path / "captured.raw"
    captured.touch()
    (home / ".asoundrc").write_text(
        f'pcm.!default {{ type file; slave.pcm "null"; file "|cat >> {captured}"; format "raw" }}\n'
    )
    return {"HOME": str(home)}, captured
