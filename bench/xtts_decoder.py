"""XTTS's HiFi-GAN decoder on the CPU: the model's own module (conv1d; bf16 under autocast) against the
engine's channels-last copy (channels_last.ChannelsLast), on the windows the stream
decodes, full-size random weights. The variants take turns, round after round, and each row is a median: this
VM's speed moves within minutes, so only same-run, interleaved ratios mean anything.

    .venv/bin/python bench/xtts_decoder.py [--model-dir DIR] [--rounds 5] [--frames 34,112,192]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def variants(network: Any, z: Any, speaker: Any) -> dict[str, Callable[[], Any]]:
    import torch

    from plugins.voice.engines.xtts.channels_last import ChannelsLast

    fp32, bf16 = ChannelsLast(network), ChannelsLast(network, torch.bfloat16)

    def autocast() -> Any:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return network(z, g=speaker)

    return {"fp32 conv1d (module)": lambda: network(z, g=speaker), "fp32 channels-last": lambda: fp32(z, g=speaker),
            "bf16 autocast (module)": autocast, "bf16 channels-last (ours)": lambda: bf16(z, g=speaker)}


def measure(network: Any, frames: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median ms per window and SNR against the module in fp32, per variant."""
    import torch

    generator = torch.Generator().manual_seed(frames)
    z = torch.randn(1, network.conv_pre.in_channels, frames, generator=generator) * 0.3
    speaker = torch.randn(1, network.cond_layer.in_channels, 1, generator=generator) * 0.1
    runs = variants(network, z, speaker)
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        reference = network(z, g=speaker).float().reshape(-1)
        for run in runs.values():  # oneDNN builds each shape's kernels on first use: on no row
            run()
        for _ in range(rounds):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - started) * 1000)
        snr = {name: float(10 * torch.log10(reference.pow(2).sum() / (reference - run().float().reshape(-1))
                                            .pow(2).sum().clamp_min(1e-30))) for name, run in runs.items()}
    return {name: (statistics.median(times[name]), snr[name]) for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", default="34,112,192", help="window lengths (34: a line's first window; 112: "
                        "a 20-token chunk's)")
    args = parser.parse_args()
    import torch

    import plugins.voice  # noqa: F401  (OpenMP's threads passive, as in play)
    from plugins.voice.core.settings import XttsSettings
    from plugins.voice.engines.models import XTTS, install
    from plugins.voice.engines.xtts.loading import build
    from tests.support.tiny_xtts import build_full_xtts

    with tempfile.TemporaryDirectory(prefix="bench-xtts-decoder-") as work:  # a 1.8 GB copy: gone once loaded
        target = Path(work) / "xtts_v2"
        install(XTTS, args.model_dir or build_full_xtts(), target)
        network = build(XttsSettings(model_dir=target, cpu_quantize="int8", cpu_decoder="fp32")).model.hifigan_decoder
    print(f"XTTS v2 decoder at its released size, random weights, CPU ({os.cpu_count()} cores, torch "
          f"{torch.get_num_threads()} threads), {args.rounds} interleaved rounds, median ms per window\n")
    print("| window frames | audio s | variant | ms | vs module in the same dtype | SNR vs fp32 module dB |")
    print("|---|---|---|---|---|---|")
    for frames in (int(f) for f in args.frames.split(",")):
        rows = measure(network.waveform_decoder, frames, args.rounds)
        base = {"fp32": rows["fp32 conv1d (module)"][0], "bf16": rows["bf16 autocast (module)"][0]}
        for name, (ms, snr) in rows.items():
            print(f"| {frames} | {frames * 256 / 24000:.2f} | {name} | {ms:.0f} | {base[name[:4]] / ms:.2f}x | "
                  f"{'exact' if snr > 200 else f'{snr:.1f}'} |")


if __name__ == "__main__":
    main()
