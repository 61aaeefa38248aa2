from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.voice.core.settings import KokoroSettings, PiperSettings, SpeechInputSettings, XttsSettings
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.models import XTTS, install
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.xtts.engine import XttsEngine
from plugins.voice.listening.transcriber import Transcriber
from tests.support.bridge_server import TOKEN, Server
from tests.support.common import TOMB
from tests.support.edge_server import FakeEdgeServer
from tests.support.net import free_port
from tests.support.voice import TINY_LINES, write_config
from tests.support.xtts_helpers import speak_reference


@pytest.fixture
def voice_config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def story_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tomb"
    shutil.copytree(TOMB, target)
    return target


@pytest.fixture(scope="session")
def piper() -> Iterator[PiperEngine]:
    """The real Piper engine with the bundled voice (loaded once for the session, closed at its end)."""
    engine = PiperEngine(PiperSettings())
    engine.prepare()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def kokoro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KokoroEngine]:
    """The real Kokoro engine with the model the [kokoro] extra bundles (loaded once for the session, closed at
    its end)."""
    engine = KokoroEngine(KokoroSettings(model_dir=tmp_path_factory.mktemp("no-kokoro-installed")))
    engine.prepare()
    yield engine
    engine.close()


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
def tiny_pocket_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Pocket TTS model with random weights, as the user's download folder holds one (built in a second)."""
    from tests.support.pocket_model import make_pocket_model

    return make_pocket_model(tmp_path_factory.mktemp("pocket-download"))


@pytest.fixture(scope="session")
def installed_pocket(tiny_pocket_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """[voice.pocket] model_dir with the tiny model installed for English."""
    from plugins.voice.engines.pocket.install import install_pocket

    folder = tmp_path_factory.mktemp("models") / "pocket"
    install_pocket(tiny_pocket_dir, folder / "en", "en")
    return folder


@pytest.fixture(scope="session")
def reference_wav(piper: PiperEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("voices")
    return speak_reference(piper, folder / "god_deep.wav", "I carried the sun beneath the world for a very long time.")


@pytest.fixture(scope="session")
def xtts(installed_xtts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[XttsEngine]:
    """A loaded engine shared by the tests that do not change it (its model thread joined at the end)."""
    engine = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path_factory.mktemp("latents"),
                                     while_loading="wait"))
    engine.prepare()
    engine.owner.loaded.wait(120)
    assert engine.owner.error is None, engine.owner.error
    yield engine
    engine.close()


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
