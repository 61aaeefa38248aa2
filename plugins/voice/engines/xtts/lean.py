"""coqui's Xtts, loaded without a copy of its weights: built on torch's meta device (coqui builds it twice, each
time with random weights: 12 s and 2 GB a time at full size) and given the checkpoint's tensors as they are
(`assign=True`), read through a memory map. Pages of the file are read only when a weight is first used: with
the GPT's 4-bit graph kept on disk (onnx_gpt.py), the GPT's fp32 blocks are never read at all."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import torch
import TTS.tts.models.xtts as xtts_module
from TTS.tts.models.xtts import Xtts

_building = threading.Lock()  # the decoder's class is swapped in coqui's module while a GPT is built


class LeanXtts(Xtts):
    def init_models(self) -> None:
        """The GPT (~95% of the weights) on the meta device; the decoder on the CPU as coqui builds it (its speaker
        encoder computes mel filters when built, which the meta device cannot)."""
        real = xtts_module.HifiDecoder

        def on_cpu(*args: Any, **kwargs: Any) -> Any:
            with torch.device("cpu"):
                return real(*args, **kwargs)

        with _building:
            xtts_module.HifiDecoder = on_cpu
            try:
                with torch.device("meta"):
                    super().init_models()
            finally:
                xtts_module.HifiDecoder = real

    def _load_checkpoint(self, model_path: Path) -> dict:
        try:
            checkpoint = torch.load(model_path, map_location="cpu", mmap=True, weights_only=True)
        except (pickle.UnpicklingError, RuntimeError):  # the original release's pickle (an XttsConfig in it)
            return super()._load_checkpoint(model_path)
        return checkpoint["model"]

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Takes the checkpoint's tensors as the weights; one stored in another type (a half-precision checkpoint)
        is converted to the module's, as a copy would have been."""
        types = {name: tensor.dtype for name, tensor in self.state_dict().items()}
        state_dict = {name: tensor.to(types[name]) if name in types and tensor.dtype != types[name] else tensor
                      for name, tensor in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=True)
