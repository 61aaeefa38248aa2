"""XTTS conditioning latents, computed once per reference content and kept in memory and on disk."""

from __future__ import annotations

import io
import logging
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import write_atomic

log = logging.getLogger(__name__)
Latents = tuple[Any, Any]  # (gpt_cond_latent, speaker_embedding) tensors


class LatentsCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.memory: dict[str, Latents] = {}
        self.lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], Latents]) -> Latents:
        """`key` must change whenever the model or any reference WAV's content changes."""
        import torch

        with self.lock:
            if key in self.memory:
                return self.memory[key]
        path = self.folder / f"{key}.pt"
        latents: Latents | None = None
        if path.is_file():
            try:
                stored = torch.load(path, map_location="cpu", weights_only=True)
                latents = (stored["gpt_cond_latent"], stored["speaker_embedding"])
            except (OSError, RuntimeError, EOFError, ValueError, KeyError, pickle.UnpicklingError):  # damaged: again
                log.warning("latents file %s is damaged; recomputing", path.name)
        if latents is None:
            latents = compute()
            buffer = io.BytesIO()
            torch.save({"gpt_cond_latent": latents[0].cpu(), "speaker_embedding": latents[1].cpu()}, buffer)
            write_atomic(path, buffer.getvalue())
        with self.lock:
            self.memory[key] = latents
        return latents
