"""Each voice's prompt state (its reference WAVs encoded by Mimi and run through the flow LM), made once per
reference content and model, kept in memory and on disk (as XTTS's latents are)."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from plugins.voice.core.audio import read_mono, resample

log = logging.getLogger(__name__)
MAX_SECONDS = 30.0  # of reference audio (pocket-tts truncates there too)
GAP_SECONDS = 0.3  # silence between two references of one voice


class VoiceStates:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.memory: dict[str, Any] = {}
        self.lock = threading.Lock()  # only around the dict: a state is made outside it

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        """`key` must change whenever the model or any reference WAV's content changes."""
        with self.lock:
            if key in self.memory:
                return self.memory[key]
        path = self.folder / f"{key}.safetensors"
        state = self._read(path) if path.is_file() else None
        if state is None:
            state = make()
            self._write(path, state)
        with self.lock:
            self.memory[key] = state
        return state

    @staticmethod
    def _read(path: Path) -> Any:
        from pocket_tts.models.model_state import _import_model_state
        from safetensors import SafetensorError

        try:
            return _import_model_state(path, "cpu")
        except (OSError, SafetensorError, ValueError):  # damaged: made again
            log.warning("voice state %s is damaged; making it again", path.name)
            return None

    def _write(self, path: Path, state: Any) -> None:
        from pocket_tts.models.model_state import export_model_state

        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".part", delete=False) as handle:
            part = Path(handle.name)
        try:
            export_model_state(state, part)
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)


def prompt_audio(references: tuple[Path, ...], sample_rate: int) -> Any:
    """The voice's references as one mono tensor [1, samples] at the model's rate, at most MAX_SECONDS."""
    import torch

    gap = np.zeros(int(GAP_SECONDS * sample_rate), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for path in references:
        chunk = read_mono(path)
        pieces += [resample(chunk.samples, chunk.sample_rate, sample_rate), gap]
    samples = np.concatenate(pieces[:-1])[: int(MAX_SECONDS * sample_rate)]
    return torch.from_numpy(np.ascontiguousarray(samples))[None]
