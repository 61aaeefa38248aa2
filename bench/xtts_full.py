"""XTTS at the released model's size (random weights) on this CPU: coqui's inference_stream against our
streaming loop in fp32, with an int8 GPT (torch), with a 4-bit GPT (ONNX Runtime), each also with a bf16
decoder, in one run.

    .venv/bin/python bench/xtts.py --full-size      (or: .venv/bin/python bench/xtts_full.py)
    .venv/bin/python bench/xtts_full.py --paths "ours int8,ours int4" --no-extras    (some rows only)

Each path runs in its own process (its own peak RSS) on the same installed model, reference, seeds and
sentences; random weights never stop, so each line gets 8 audio tokens per word (what real XTTS speaks
at, 21.5 tokens a second). Also: fidelity of the window and of int8/bf16 against fp32 (random weights
cannot be listened to: the numbers say how far the paths are apart), and torch's threads alone and with
Piper speaking beside XTTS. Everything runs on every core, torch's default and the engine's (`cpu_threads = 0`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKENS_PER_WORD = 8
SENTENCES = {
    5: "Leave the door as you found it.",
    12: "Many have come here to learn my name, and few have ever said it.",
    24: "I carried the sun beneath the world for longer than your language has had words, and each morning I set "
        "it in the sky for you.",
    48: "I carried the sun beneath the world for longer than your language has had words, and each morning I set "
        "it in the sky for you. Now the sand has buried my temple, the priests are dust, and only the jackals "
        "remember the old songs they sang.",
}
PATHS = {  # name: (cpu_quantize, cpu_decoder, our loop)
    "coqui inference_stream": ("off", "fp32", False),
    "ours fp32": ("off", "fp32", True),
    "ours int8": ("int8", "fp32", True),
    "ours int8 + bf16 decoder": ("int8", "bf16", True),
    "ours int4": ("int4", "fp32", True),
    "ours int4 + bf16 decoder": ("int4", "bf16", True),
}


def load(model_dir: Path, quantize: str, decoder: str, reference: Path, threads: int = 0) -> tuple[Any, Any, Any]:
    from plugins.voice.core.settings import XttsSettings
    from plugins.voice.engines.xtts.loading import build

    threads = threads or os.cpu_count() or 1  # the paths alone: every core
    loaded = build(XttsSettings(model_dir=model_dir, cpu_quantize=quantize, cpu_decoder=decoder, cpu_threads=threads,
                                graphs_dir=model_dir.parent / "graphs"))  # the run's own: its first start builds it
    gpt, speaker = loaded.model.get_conditioning_latents(audio_path=[str(reference)])
    return loaded, gpt, speaker


def timed(stream) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    started, first, samples = time.perf_counter(), None, 0
    for chunk in stream:
        first = first if first is not None else time.perf_counter() - started
        samples += int(chunk.shape[-1])
    return (first or 0.0) * 1000, time.perf_counter() - started, samples


def run_path(name: str, model_dir: Path, reference: Path) -> dict:
    import torch

    from bench.xtts import rss_mb
    from plugins.voice.engines.xtts.stream import Sampling

    quantize, decoder, ours = PATHS[name.split(" (")[0]]  # "ours int4 (second start)": the same path again
    started = time.perf_counter()
    loaded, gpt, speaker = load(model_dir, quantize, decoder, reference)
    load_s, rss_loaded = time.perf_counter() - started, rss_mb()
    model = loaded.model

    def line(text: str, tokens: int):  # type: ignore[no-untyped-def]
        if ours:
            return loaded.streamer(text, "en", gpt, speaker, sampling=Sampling(max_new_tokens=tokens))
        return model.inference_stream(text, "en", gpt, speaker, stream_chunk_size=20, max_new_tokens=tokens)

    timed(line(SENTENCES[5], 24))  # one-time costs, on no row
    rows = {}
    for words, text in SENTENCES.items():
        torch.manual_seed(1)
        first, total, samples = timed(line(text, words * TOKENS_PER_WORD))
        rows[words] = {"first_ms": first, "rtf": total / (samples / 24000), "audio_s": samples / 24000}
    return {"rows": rows, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load_s": load_s, "rss_loaded_mb": rss_loaded}



def run_fidelity(model_dir: Path, reference: Path) -> dict:
    import numpy as np
    import torch

    from plugins.voice.engines.xtts import stream
    from plugins.voice.engines.xtts.channels_last import ChannelsLast
    from plugins.voice.engines.xtts.onnx_gpt import OnnxGpt
    from plugins.voice.engines.xtts.quantize import quantize_gpt

    loaded, gpt, speaker = load(model_dir, "off", "fp32", reference)
    model, text = loaded.model, SENTENCES[24]
    torch.manual_seed(1)
    sampled = list(stream.tokens(model, text, "en", gpt, stream.Sampling(max_new_tokens=24 * TOKENS_PER_WORD)))
    tokens, latents = [t for t, _ in sampled], [latent for _, latent in sampled]
    with torch.inference_mode():
        full = model.hifigan_decoder(torch.stack(latents)[None], g=speaker).reshape(-1)

    def windowed(dtype: torch.dtype | None) -> torch.Tensor:  # the CPU's decoder, as the engine runs it
        network = ChannelsLast(model.hifigan_decoder.waveform_decoder, dtype)
        decoder, chunking, pieces, at = stream.WindowedDecoder(model, speaker, network=network), stream.Chunking(), [], 0
        while at < len(latents):
            size = chunking.next(at)
            pieces.append(decoder.add(latents[at:at + size], final=at + size >= len(latents)))
            at += size
        return torch.cat(pieces)

    def snr(reference: torch.Tensor, other: torch.Tensor) -> float:
        return float(10 * torch.log10((reference ** 2).sum() / ((reference - other) ** 2).sum()))

    def quantized(onnx: Any = None) -> dict:  # teacher-forced on fp32's tokens: latents and decoded audio
        forced = [latent for _, latent in stream.tokens(model, text, "en", gpt, stream.Sampling(), forced=tokens,
                                                        onnx=onnx)]
        cosine = torch.nn.functional.cosine_similarity(torch.stack(forced), torch.stack(latents), dim=-1)
        with torch.inference_mode():
            audio = model.hifigan_decoder(torch.stack(forced)[None], g=speaker).reshape(-1)
        return {"cos_min": float(cosine.min()), "cos_mean": float(cosine.mean()), "snr": snr(full, audio)}

    ours, bf16 = windowed(None), windowed(torch.bfloat16)
    int4 = quantized(OnnxGpt(model.gpt.gpt, threads=os.cpu_count() or 1))
    quantize_gpt(model)
    return {"corr": float(np.corrcoef(ours.numpy(), full.numpy())[0, 1]), "max_diff": float((ours - full).abs().max()),
            "peak": float(full.abs().max()), "bf16_snr": snr(full, bf16), "int8": quantized(), "int4": int4,
            "tokens": len(tokens)}


def run_threads(model_dir: Path, reference: Path) -> dict:
    """The int8 path's 12-word line with torch on 1 and on every thread, alone and with Piper speaking without
    pause on another thread (what a prefetch thread does beside XTTS in a game)."""
    import torch

    from plugins.voice.casting.cast import Voice
    from plugins.voice.core.settings import PiperSettings
    from plugins.voice.engines.base import LineSettings
    from plugins.voice.engines.piper.engine import PiperEngine
    from plugins.voice.engines.xtts.stream import Sampling

    loaded, gpt, speaker = load(model_dir, "int8", "fp32", reference)
    piper, stop = PiperEngine(PiperSettings()), threading.Event()
    voice = Voice("n", "n", "piper", "en", 1.0, 0)

    def speak() -> None:
        while not stop.is_set():
            list(piper.synthesize("The lamp gutters and the stair goes down into the dark.", voice, LineSettings()))

    def line(threads: int) -> dict:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        first, total, samples = timed(loaded.streamer(SENTENCES[12], "en", gpt, speaker,
                                                      sampling=Sampling(max_new_tokens=12 * TOKENS_PER_WORD)))
        return {"first_ms": first, "rtf": total / (samples / 24000)}

    timed(loaded.streamer(SENTENCES[5], "en", gpt, speaker, sampling=Sampling(max_new_tokens=24)))
    counts = sorted({1, os.cpu_count() or 1})
    result = {f"alone, {n}": line(n) for n in counts}
    beside = threading.Thread(target=speak, name="bench-piper")
    beside.start()
    try:
        result.update({f"beside Piper, {n}": line(n) for n in counts})
    finally:
        stop.set()
        beside.join()
    return result


def child(kind: str, model_dir: Path, reference: Path) -> dict:
    if kind.startswith("pocket"):  # Pocket TTS's row (bench/pocket.py), its model beside XTTS's
        from bench.pocket import child as pocket_child
        from bench.pocket import installed_model

        folder = model_dir.parent / "english"
        return pocket_child(kind, folder if folder.is_dir() else installed_model(model_dir.parent, "english"), reference)
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--model-dir", str(model_dir),
                           "--reference", str(reference)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(model_dir: Path, reference: Path, paths: list[str], extras: bool) -> None:
    results = {name: child(name, model_dir, reference) for name in paths}
    base = results[paths[0]]["rows"]  # coqui's inference_stream, unless other paths were picked
    print(f"| path | words | audio s | first chunk ms | real-time factor | RTF vs {paths[0]} | first vs {paths[0]} "
          "| peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        for words, row in result["rows"].items():
            coqui = base[words]
            print(f"| {name} | {words} | {row['audio_s']:.1f} | {row['first_ms']:.0f} | {row['rtf']:.2f} | "
                  f"{coqui['rtf'] / row['rtf']:.2f}x | {coqui['first_ms'] / row['first_ms']:.2f}x | "
                  f"{result['peak_rss_mb']:,.0f} |")
    for name, result in results.items():
        rows = result["rows"]
        print(f"{name}: RTF 48 words / 5 words = {rows['48']['rtf'] / rows['5']['rtf']:.2f}; load "
              f"{result['load_s']:.1f} s, RSS after load {result['rss_loaded_mb']:,.0f} MB")
    if not extras:
        return
    fid = child("fidelity", model_dir, reference)
    print(f"\nfidelity (24-word line, {fid['tokens']} tokens): windowed against full decode: correlation "
          f"{fid['corr']:.7f}, largest sample difference {fid['max_diff']:.2e} (peak {fid['peak']:.2f}); bf16 decoder "
          f"SNR {fid['bf16_snr']:.1f} dB; teacher-forced GPT: " + "; ".join(
              f"{kind} latent cosine min {fid[kind]['cos_min']:.5f} / mean {fid[kind]['cos_mean']:.5f}, decoded SNR "
              f"{fid[kind]['snr']:.1f} dB" for kind in ("int8", "int4")))
    threads = child("threads", model_dir, reference)
    print("\nours int8, 12 words, by torch threads: " + "; ".join(
        f"{n} thread(s): RTF {r['rtf']:.2f}, first chunk {r['first_ms']:.0f} ms" for n, r in threads.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--child")
    parser.add_argument("--paths", default=",".join([*PATHS, "ours int4 + bf16 decoder (second start)", "pocket int8"]),
                        help="which paths, comma-separated (the first is the baseline of the ratios); a path again with "
                        "' (second start)' reads the 4-bit graph the first start kept; 'pocket int8': Pocket TTS")
    parser.add_argument("--no-extras", action="store_true", help="without fidelity and torch's threads")
    args = parser.parse_args()
    if args.child:
        result = (run_fidelity(args.model_dir, args.reference) if args.child == "fidelity" else
                  run_threads(args.model_dir, args.reference) if args.child == "threads" else
                  run_path(args.child, args.model_dir, args.reference))
        print(json.dumps(result))
        return
    from bench.xtts import reference as make_reference
    from plugins.voice.engines.models import XTTS, install
    from tests.support.tiny_xtts import build_full_xtts

    with tempfile.TemporaryDirectory(prefix="bench-xtts-full-") as folder:  # a 1.8 GB copy: gone after the run
        work = Path(folder)
        target = work / "xtts_v2"
        install(XTTS, args.model_dir or build_full_xtts(), target)
        ref, _ = make_reference(work)
        print(f"XTTS v2 at its released size, random weights, CPU ({os.cpu_count()} cores), {TOKENS_PER_WORD} audio "
              "tokens per word\n")
        report(target, ref, args.paths.split(","), not args.no_extras)


if __name__ == "__main__":
    main()
