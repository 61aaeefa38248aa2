"""Where the XTTS model runs: half precision on CUDA, and in low-VRAM mode on the GPU only while in use."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from plugins.voice.core.settings import XttsSettings


class Placement:
    """Owner thread only (model.py): no lock."""

    def __init__(self, settings: XttsSettings) -> None:
        self.settings = settings
        self.device = "cpu"  # set once the model is loaded
        self.on_gpu_until: float | None = None  # low-VRAM mode: when the model goes back to RAM

    @contextlib.contextmanager
    def precision(self) -> Iterator[None]:
        if self.device == "cuda" and self.settings.fp16:
            import torch

            with torch.autocast(device_type="cuda", dtype=torch.float16):
                yield
        else:
            yield

    @contextlib.contextmanager
    def on_device(self, model: Any) -> Iterator[None]:
        """In low-VRAM mode, moves the model to the GPU for a request; back to RAM when idle (`to_ram`)."""
        if self.device != "cuda" or not self.settings.low_vram:
            yield
            return
        model.cuda()
        try:
            yield
        finally:
            self.on_gpu_until = time.monotonic() + self.settings.low_vram_idle_seconds

    def idle_left(self) -> float | None:
        return None if self.on_gpu_until is None else max(0.0, self.on_gpu_until - time.monotonic())

    def to_ram(self, model: Any) -> None:
        if self.on_gpu_until is None or time.monotonic() < self.on_gpu_until:
            return
        import torch

        self.on_gpu_until = None
        model.cpu()
        torch.cuda.empty_cache()
