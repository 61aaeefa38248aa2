"""XTTS's HiFi-GAN decoder on a CPU with its 1-D convolutions run as 2-D ones on channels-last tensors.

oneDNN's convolutions (AMX in bf16) work on channels-last data; torch's `conv1d` hands them [C, T]
tensors, so each of the decoder's ~80 convolutions reordered its input and its output at every call
(a 128-channel, 7168-sample convolution: 6.5 ms as conv1d, 3.3 ms as a channels-last conv2d; the whole
decoder 1.8-2.2x faster in bf16 and 1.2-1.5x in fp32, bench/xtts_decoder.py). Here a copy of the decoder has weight
norm folded into its weights once, every Conv1d / ConvTranspose1d replaced by the same 2-D layer of
height 1, its weights channels-last (and bf16 when asked: the same bf16 weights autocast made at each
call), and runs coqui's own `forward` on [B, C, 1, T] tensors: its leaky ReLUs, sums and tanh are
element-wise, so they work on either shape.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class ChannelsLast:
    """Callable like the decoder (`network(z, g=speaker)` -> [B, 1, T] float32) on a converted copy."""

    def __init__(self, network: nn.Module, dtype: torch.dtype | None = None) -> None:
        self.dtype = dtype or torch.float32
        copied = copy.deepcopy(network).eval()
        _replace(copied)  # new layers; weight norm's classes are shared with the original: none is changed
        self.network = copied.to(dtype=self.dtype, memory_format=torch.channels_last)

    @torch.inference_mode()
    def __call__(self, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # z [B, C, frames], g [B, C, 1]
        x = _four(z.to(self.dtype))
        out = self.network(x, g=_four(g.to(self.dtype)))
        return out.reshape(out.shape[0], out.shape[1], -1).float()


def _four(x: torch.Tensor) -> torch.Tensor:
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _replace(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Conv1d):
            setattr(module, name, _conv2d(child))
        elif isinstance(child, nn.ConvTranspose1d):
            setattr(module, name, _transposed2d(child))
        else:
            _replace(child)


def _conv2d(conv: nn.Conv1d) -> nn.Conv2d:
    if isinstance(conv.padding, str):
        raise ValueError(f"padding={conv.padding!r} is not converted")
    out = nn.Conv2d(conv.in_channels, conv.out_channels, (1, conv.kernel_size[0]), (1, conv.stride[0]),
                    (0, conv.padding[0]), (1, conv.dilation[0]), conv.groups, conv.bias is not None,
                    padding_mode=conv.padding_mode)
    return _copy_weights(conv, out)


def _transposed2d(conv: nn.ConvTranspose1d) -> nn.ConvTranspose2d:
    out = nn.ConvTranspose2d(conv.in_channels, conv.out_channels, (1, conv.kernel_size[0]), (1, conv.stride[0]),
                             (0, conv.padding[0]), (0, conv.output_padding[0]), conv.groups, conv.bias is not None,
                             (1, conv.dilation[0]))
    return _copy_weights(conv, out)


def _copy_weights(source: Any, target: Any) -> Any:
    with torch.no_grad():  # `source.weight` is weight norm's result, computed here once
        target.weight.copy_(source.weight.unsqueeze(2))
        if source.bias is not None:
            target.bias.copy_(source.bias)
    return target.eval()
