"""XTTS: our engine against calling coqui-tts directly on the same model, in one run.

    .venv/bin/python bench/xtts.py [--lines N] [--model-dir DIR]
    .venv/bin/python bench/xtts.py --full-size [--model-dir DIR]

Without --model-dir it builds the tiny random checkpoint the tests use (CPU figures of our
overhead, not of real XTTS speed). --full-size builds a checkpoint with the released v2 model's
every shape and random weights (tests/support/tiny_xtts.py, ~1.9 GB, once) and measures what the
real model costs: install and load (SHA-256 included), memory, latents, first chunk and real-time
factor by sentence length: coqui's inference_stream against our loop in fp32, int8 and int8 + bf16
(bench/xtts_full.py, each in its own process), with the paths' fidelity. Random
weights never stop, so each line is given 8 audio tokens per word (0.37 s, what real XTTS speaks
at). With a GPU and real weights, point --model-dir at an installed model (peak VRAM on CUDA).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the repository's packages

import torch  # noqa: E402

from plugins.voice.casting.cast import Voice  # noqa: E402
from plugins.voice.core.audio import concat  # noqa: E402
from plugins.voice.core.settings import PiperSettings, XttsSettings  # noqa: E402
from plugins.voice.engines.base import LineSettings  # noqa: E402
from plugins.voice.engines.models import XTTS, install  # noqa: E402
from plugins.voice.engines.piper.engine import PiperEngine  # noqa: E402
from plugins.voice.engines.xtts.engine import XttsEngine  # noqa: E402

LINES = [
    "Who walks so softly in my house?",
    "Many have come to learn. Few have said so.",
    "Leave the door as you found it.",
    "You may tell the world. Tell it gently.",
    "Then you shall have all the gold in this room, forever.",
]


def reference(folder: Path) -> tuple[Path, str]:
    import hashlib

    import soundfile

    piper = PiperEngine(PiperSettings())
    audio = concat(list(piper.synthesize("I carried the sun beneath the world for a very long time.",
                                         Voice("r", "r", "piper", "en", 1.0, 0), LineSettings())))
    path = folder / "ref.wav"
    soundfile.write(path, audio.samples, audio.sample_rate, subtype="PCM_16")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def timed_stream(stream) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    first, samples = None, 0
    for chunk in stream:
        if first is None:
            first = time.monotonic() - started
        samples += len(chunk.samples if hasattr(chunk, "samples") else chunk)
    return (first or 0.0) * 1000, time.monotonic() - started, samples


def setup(prefix: str) -> tuple[argparse.Namespace, Path, Path, str]:
    """Arguments, a work dir, and a reference WAV with its hash; installs the tiny model without --model-dir."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--full-size", action="store_true", help="the released model's size, random weights")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=prefix))
    if args.full_size:
        return args, work, *reference(work)
    if args.model_dir is None:
        from tests.support.tiny_xtts import build_tiny_xtts

        args.model_dir = work / "xtts_v2"
        install(XTTS, build_tiny_xtts(), args.model_dir)
    return args, work, *reference(work)


TOKENS_PER_WORD = 8.0  # 21.5 tokens a second: 0.37 s a word, 2.7 words a second


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def full_size(args: argparse.Namespace, work: Path, ref: Path, ref_hash: str) -> None:
    from tests.support.tiny_xtts import build_full_xtts

    started = time.monotonic()
    source = args.model_dir or build_full_xtts()
    built = time.monotonic() - started
    target = work / "xtts_v2"
    started = time.monotonic()
    install(XTTS, source, target)
    installed = time.monotonic() - started
    size = (target / "model.pth").stat().st_size / 1e9
    before = rss_mb()
    started = time.monotonic()
    engine = XttsEngine(XttsSettings(model_dir=target, latents_dir=work / "latents", while_loading="wait",
                                     max_audio_tokens_per_word=TOKENS_PER_WORD, cpu_quantize="off"))
    engine.prepare()
    engine.owner.loaded.wait()
    loaded = time.monotonic() - started
    after = rss_mb()
    model = engine.owner.model
    params = sum(p.numel() for p in model.parameters()) / 1e6
    voice = Voice("god", "god", "xtts", "en", 1.0, 0, {}, (ref,), ref_hash)
    started = time.monotonic()
    engine.speech.latents(voice)
    latents_first = time.monotonic() - started
    started = time.monotonic()
    gpt, speaker = engine.speech.latents(voice)
    latents_hit = time.monotonic() - started
    print(f"XTTS v2 at its released size, random weights ({params:.0f} M parameters, model.pth {size:.2f} GB), "
          f"on {engine.owner.placement.device}, {torch.get_num_threads()} threads\n")
    print(f"built once: {built:.0f} s (0 when cached); install (copy + SHA-256): {installed:.1f} s; "
          f"load in fp32 (SHA-256 check + load): {loaded:.1f} s; RSS {before:.0f} -> {after:.0f} MB")
    print(f"latents per reference: {latents_first * 1000:.0f} ms the first time, {latents_hit * 1000:.1f} ms cached\n")
    engine.close()
    del engine, model, gpt, speaker
    from bench.xtts_full import PATHS, report

    report(target, ref, list(PATHS), extras=True)  # each path in its own process


def main() -> None:
    args, work, ref, ref_hash = setup("bench-xtts-")
    if args.full_size:
        full_size(args, work, ref, ref_hash)
        return

    started = time.monotonic()
    engine = XttsEngine(XttsSettings(model_dir=args.model_dir, latents_dir=work / "latents", while_loading="wait"))
    engine.prepare()
    engine.owner.loaded.wait()
    load_ours = time.monotonic() - started
    model = engine.owner.model
    voice = Voice("god", "god", "xtts", "en", 1.0, 0, {}, (ref,), ref_hash)

    model.get_conditioning_latents(audio_path=[str(ref)])  # warm-up, so neither side pays it
    started = time.monotonic()
    gpt, speaker = model.get_conditioning_latents(audio_path=[str(ref)])
    latents_direct = time.monotonic() - started
    started = time.monotonic()
    engine.speech.latents(voice)
    latents_miss = time.monotonic() - started
    started = time.monotonic()
    engine.speech.latents(voice)
    latents_hit = time.monotonic() - started

    rows: dict[str, list[tuple[float, float]]] = {"direct": [], "ours": []}
    for index in range(args.lines):
        text = LINES[index % len(LINES)]
        torch.manual_seed(index)
        first, total, samples = timed_stream(model.inference_stream(text, "en", gpt, speaker, stream_chunk_size=20))
        rows["direct"].append((first, total / (samples / 24000)))
        torch.manual_seed(index)
        first, total, samples = timed_stream(engine.synthesize(text, voice, LineSettings()))
        rows["ours"].append((first, total / (samples / 24000)))

    def med(name: str, column: int) -> float:
        return statistics.median(r[column] for r in rows[name])

    device = engine.owner.placement.device
    print(f"XTTS on {device}, model {args.model_dir.name}, {args.lines} lines\n")
    print(f"model load (ours, incl. SHA-256 check): {load_ours:.2f} s")
    print(f"latents: direct {latents_direct * 1000:.0f} ms, ours first time {latents_miss * 1000:.0f} ms, "
          f"ours cached {latents_hit * 1000:.2f} ms\n")
    print("| | first chunk median ms | real-time factor median |")
    print("|---|---|---|")
    print(f"| model.inference_stream | {med('direct', 0):.0f} | {med('direct', 1):.3f} |")
    print(f"| our engine | {med('ours', 0):.0f} | {med('ours', 1):.3f} |")
    print(f"| ratio ours/direct | {med('ours', 0) / med('direct', 0):.3f} | {med('ours', 1) / med('direct', 1):.3f} |")
    if device == "cuda":
        print(f"\npeak VRAM: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
