from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.voice.core.settings import KokoroSettings, PiperSettings, SpeechInputSettings, StallSettings, XttsSettings
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.models import XTTS, install
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.xtts.engine import XttsEngine
from plugins.voice.listening.transcriber import Transcriber
from tests.conftest import TOMB
from tests.support.bridge_server import TOKEN, Server
from tests.support.edge_server import FakeEdgeServer
from tests.support.net import free_port
from tests.voice.xtts_helpers import speak_reference

OFFLINE_EDGE = "ws://127.0.0.1:9/edge/v1?x=1"  # nothing listens there: edge fails at once, network or not
# Budgets of silence far above what a busy machine needs: which engine speaks must not depend on the machine's
# speed in tests about other things (the stall budgets themselves are tested in test_stall.py and test_bridge.py).
# The tiny XTTS makes at most 24 audio tokens a line: one chunk each, where a test is not about chunks (the
# decoder's windows cost more than the tiny GPT; test_xtts_stream.py, test_stall.py and the soak keep the defaults).
TINY_LINES = "first_chunk_tokens = 24\n"
PATIENT = StallSettings(grace=30.0, first_network=30.0, first_local=60.0, prefetch=60.0)  # for a Speaker
STALL = (f"[voice.stall]\ngrace = {PATIENT.grace}\nfirst_network = {PATIENT.first_network}\n"  # for a config
         f"first_local = {PATIENT.first_local}\nprefetch = {PATIENT.prefetch}\n")


def write_config(tmp_path: Path, voice: str = "", engine: str = "") -> Path:
    """A config.toml with a null sink, a private cache, voices/ and saves, and edge kept on loopback."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n{engine}\n'
        f'[voice]\nsink = "null"\nvoices_dir = "{tmp_path / "voices"}"\nreprobe_seconds = 0.0\n'
        f'checked_dir = "{tmp_path / "checked"}"\n{voice}\n'
        f'[voice.cache]\ndir = "{tmp_path / "cache"}"\n'
        f'[voice.edge]\nendpoint = "{OFFLINE_EDGE}"\nconnect_timeout = 2\nreceive_timeout = 5\n'
        f'{STALL}',
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


@pytest.fixture(scope="session")
def kokoro(tmp_path_factory: pytest.TempPathFactory) -> KokoroEngine:
    """The real Kokoro engine with the model the [kokoro] extra bundles (loaded once for the session)."""
    engine = KokoroEngine(KokoroSettings(model_dir=tmp_path_factory.mktemp("no-kokoro-installed")))
    engine.prepare()
    return engine


@pytest.fixture(scope="session")
def transcriber(tmp_path_factory: pytest.TempPathFactory) -> Transcriber:
    """Faster-Whisper with the tiny.en model the [stt] extra bundles (loaded once for the session)."""
    found = Transcriber(SpeechInputSettings(model_dir=tmp_path_factory.mktemp("no-whisper-installed")))
    found.load()
    return found


@pytest.fixture
def edge_server() -> Iterator[FakeEdgeServer]:
    server = FakeEdgeServer("ok")
    yield server
    server.close()


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


@pytest.fixture(scope="session")
def tiny_xtts_dir() -> Path:
    """The tiny random XTTS checkpoint in the real layout (built once into ~/.cache)."""
    from tests.support.tiny_xtts import build_tiny_xtts

    return build_tiny_xtts()


@pytest.fixture(scope="session")
def installed_xtts(tiny_xtts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("models") / "xtts_v2"
    install(XTTS, tiny_xtts_dir, target)
    return target


@pytest.fixture(scope="session")
def reference_wav(piper: PiperEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("voices")
    return speak_reference(piper, folder / "god_deep.wav", "I carried the sun beneath the world for a very long time.")


@pytest.fixture(scope="session")
def xtts(installed_xtts: Path, tmp_path_factory: pytest.TempPathFactory) -> XttsEngine:
    """A loaded engine shared by the tests that do not change it."""
    engine = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path_factory.mktemp("latents"),
                                     while_loading="wait"))
    engine.prepare()
    engine.owner.loaded.wait(120)
    assert engine.owner.error is None, engine.owner.error
    return engine


@pytest.fixture(scope="session")
def bridge(tmp_path_factory: pytest.TempPathFactory, tiny_xtts_dir: Path,
           reference_wav: Path) -> Iterator[tuple[Server, Path, Path]]:
    """A real bridge serving the tiny XTTS (server, folder, client config); the bridge tests share it (one
    xdist_group), and a test that stops it starts it again."""
    tmp = tmp_path_factory.mktemp("bridge")
    port = free_port()
    (tmp / "gpu-box").mkdir()
    server_config = write_config(tmp / "gpu-box", voice=(
        f'[voice.bridge]\nvoices_dir = "{tmp / "served"}"\nmax_queue = 1\ntoken_file = "{tmp / "token"}"\n'
        f'[voice.xtts]\nmodel_dir = "{tmp / "models"}"\nlatents_dir = "{tmp / "latents"}"\n'
        f'device = "cpu"\n{TINY_LINES}'))  # the same on a machine with a GPU (test_bridge.py reads /health)
    install(XTTS, tiny_xtts_dir, tmp / "models")
    # the laptop: no XTTS model of its own; one line points it at the bridge
    client_config = write_config(tmp, voice=(
        'auto_seed = false\n'
        f'[voice.xtts_remote]\nurls = ["http://127.0.0.1:{port}"]\nconnect_timeout = 1.0\nread_timeout = 20.0\n'))
    shutil.copy(reference_wav, tmp / "voices" / "god_deep.wav")
    server = Server(server_config, port, {"VOICED_IF_BRIDGE_TOKEN": TOKEN}).start()
    yield server, tmp, client_config
    server.kill()
