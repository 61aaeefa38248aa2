"""What one audio token of the XTTS GPT costs in matrix multiplies on this CPU, by kernel: the floor
of a token's time.

    .venv/bin/python bench/xtts_kernels.py [--threads N]

The released GPT is 30 GPT-2 blocks 1024 wide; each audio token multiplies one row by every block's four
weight matrices (qkv 1024->3072, attention out 1024->1024, MLP 1024->4096 and 4096->1024): ~0.38 B weights,
read once per token. Random weights of those shapes, batch 1, each kernel against fp32 in the same run:
fp32, torch.ao's dynamic int8 (our `cpu_quantize = "int8"`), and torch's weight-only kernels (int8 per
channel; int4 in groups, what gpt-fast and torchao use) with their error against fp32. At 21.5 tokens a
second (real time) everything, the decoder included, has 46.5 ms per token.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

WIDTH, BLOCKS, REPEATS = 1024, 30, 20
SHAPES = [(3 * WIDTH, WIDTH), (WIDTH, WIDTH), (4 * WIDTH, WIDTH), (WIDTH, 4 * WIDTH)]  # (out, in)


def per_token_ms(run: Callable[[], object]) -> float:
    run()
    run()
    started = time.perf_counter()
    for _ in range(REPEATS):
        run()
    return (time.perf_counter() - started) / REPEATS * 1000


def int8_dynamic(weights: list[torch.Tensor]) -> list[torch.nn.Module]:
    modules = []
    with warnings.catch_warnings():  # torch.ao's dynamic quantization is marked for migration to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        for weight in weights:
            linear = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
            linear.weight.data = weight
            modules.append(torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear), {torch.nn.Linear},
                                                                  dtype=torch.qint8))
    return modules


def int8_weight_only(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-12)
    return torch.round(weight / scale[:, None]).clamp(-128, 127).to(torch.int8), scale


def int4_weight_only(weight: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed 4-bit weight and [groups, out, 2] scales and offsets (dequantized: (q - 8) * scale + offset)."""
    rows, columns = weight.shape
    grouped = weight.reshape(rows, columns // group, group)
    low, high = grouped.amin(-1), grouped.amax(-1)
    scale = ((high - low) / 15).clamp(min=1e-12)
    levels = torch.round((grouped - low[..., None]) / scale[..., None]).clamp(0, 15).to(torch.int32)
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(levels.reshape(rows, columns), 1)
    return packed, torch.stack([scale, low + scale * 8], dim=-1).transpose(0, 1).contiguous()


def relative_error(result: torch.Tensor, exact: torch.Tensor) -> float:
    return float((result - exact).norm() / exact.norm())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: every core, as the engine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    weights = [torch.randn(rows, columns) * 0.02 for _ in range(BLOCKS) for rows, columns in SHAPES]
    rows = {size: torch.randn(1, size) for size in (WIDTH, 4 * WIDTH)}
    exact = F.linear(rows[WIDTH], weights[0])
    results: dict[str, tuple[float, float]] = {
        "fp32": (per_token_ms(lambda: [F.linear(rows[w.shape[1]], w) for w in weights]), 0.0)}
    dynamic = int8_dynamic(weights)
    results["int8 dynamic (torch.ao, ours)"] = (
        per_token_ms(lambda: [m(rows[w.shape[1]]) for m, w in zip(dynamic, weights, strict=True)]),
        relative_error(dynamic[0](rows[WIDTH]), exact))
    only8 = [int8_weight_only(w) for w in weights]
    results["int8 weight-only"] = (
        per_token_ms(lambda: [torch.ops.aten._weight_int8pack_mm(rows[q.shape[1]], q, s) for q, s in only8]),
        relative_error(torch.ops.aten._weight_int8pack_mm(rows[WIDTH], *only8[0]), exact))
    for group in (32, 128):
        only4 = [(*int4_weight_only(w, group), w.shape[1]) for w in weights]

        def int4(packs: list[tuple[torch.Tensor, torch.Tensor, int]] = only4, size: int = group) -> object:
            return [torch.ops.aten._weight_int4pack_mm_for_cpu(rows[n], q, size, s) for q, s, n in packs]

        results[f"int4 weight-only, groups of {group}"] = (
            per_token_ms(int4),
            relative_error(torch.ops.aten._weight_int4pack_mm_for_cpu(rows[WIDTH], only4[0][0], group, only4[0][1]),
                           exact))
    base = results["fp32"][0]
    print(f"XTTS GPT matrix multiplies per audio token, batch 1, {torch.get_num_threads()} torch thread(s), "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}\n")
    print("| kernel | ms per token | vs fp32 | error vs fp32 |")
    print("|---|---|---|---|")
    for name, (ms, error) in results.items():
        print(f"| {name} | {ms:.1f} | {base / ms:.2f}x | {error:.4f} |")
    weight_mb = sum(w.numel() for w in weights) / 1e6
    fastest = min(ms for ms, _ in results.values())
    print(f"\n{weight_mb:.0f} M weights; the fastest kernel reads them at "
          f"{weight_mb / fastest:.1f} GB/s in int8 terms ({weight_mb * 4 / base:.1f} GB/s in fp32 for fp32)")


if __name__ == "__main__":
    main()
