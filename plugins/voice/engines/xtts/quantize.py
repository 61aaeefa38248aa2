"""int8 weights for the XTTS GPT on the CPU (`[voice.xtts] cpu_quantize`).

Each audio token reads every GPT weight once: ~1.6 GB in fp32 for the released model, which two
cores' memory bandwidth cannot do 21.5 times a second (real time). Dynamic int8 quantization stores
the matrix multiplies' weights in int8 (a quarter of the bytes) and quantizes activations per call.
Hugging Face's GPT-2 blocks use transformers' `Conv1D` (a transposed Linear), which
`quantize_dynamic` does not know, so those become `nn.Linear` first. Quantizing the released model's
120 layers takes ~16 s on 2 cores, once per load. torch.ao's eager quantization is deprecated (to be
removed in torch 2.10; we pin 2.9.1): its successor is torchao's `quantize_` with int8 dynamic activations.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)


def as_linear(conv: Any) -> Any:
    """transformers' Conv1D (y = x @ W + b, W: [in, out]) as the equal nn.Linear."""
    import torch

    linear = torch.nn.Linear(conv.weight.shape[0], conv.weight.shape[1])
    with torch.no_grad():
        linear.weight.copy_(conv.weight.t())
        linear.bias.copy_(conv.bias)
    return linear


def conv1d_to_linear(module: Any) -> int:
    """Replaces every Conv1D below `module` in place; returns how many."""
    from transformers.pytorch_utils import Conv1D

    replaced = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                setattr(parent, name, as_linear(child))
                replaced += 1
    return replaced


def quantize_gpt(model: Any) -> int:
    """The GPT's transformer blocks and audio head in int8 (in place, CPU only); returns the layers changed."""
    import torch

    gpt = model.gpt
    replaced = conv1d_to_linear(gpt.gpt)
    with warnings.catch_warnings():  # torch.ao's dynamic quantization is marked for migration to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.ao.quantization.quantize_dynamic(gpt.gpt, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
        # generation reads the audio head through gpt_inference.lm_head (final norm, then the head)
        torch.ao.quantization.quantize_dynamic(gpt.gpt_inference.lm_head, {torch.nn.Linear}, dtype=torch.qint8,
                                               inplace=True)
    log.info("XTTS GPT: %d layers in int8", replaced)
    return replaced
