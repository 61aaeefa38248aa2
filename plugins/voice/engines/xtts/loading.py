"""Loading an XTTS model onto its device, with the CPU's faster paths (int8 or int4 GPT, bf16 decoder)."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.voice.core.settings import XttsSettings
from plugins.voice.engines.models import XTTS, ModelError, verify
from plugins.voice.engines.xtts.onnx_gpt import GRAPH, missing

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    model: Any
    device: str
    streamer: Any  # stream.Streamer
    paths: str  # what the CPU paths are, for the "ready" notice


def build(settings: XttsSettings) -> Loaded:
    """Owner thread: verifies and loads the model (raises ModelError or what torch and coqui raise)."""
    folder = settings.model_dir
    files = verify(XTTS, folder)
    paths = cpu_paths(settings)
    if "int4" in paths:
        if reason := missing():
            raise ModelError(reason)
    import torch
    import transformers
    from TTS.tts.configs.xtts_config import XttsConfig

    from plugins.voice.engines.xtts.lean import LeanXtts
    from plugins.voice.engines.xtts.stream import Chunking, Streamer

    transformers.logging.set_verbosity_error()  # its config warnings would land in the story text
    device = chosen_device(settings)
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("[voice.xtts] device is cuda, but no CUDA GPU is available")
    config = XttsConfig()
    config.load_json(str(folder / "config.json"))
    model = LeanXtts(config)
    deepspeed = settings.deepspeed and device == "cuda" and importlib.util.find_spec("deepspeed")
    model.load_checkpoint(config, checkpoint_dir=str(folder), eval=True, use_deepspeed=bool(deepspeed))
    if device == "cuda" and not settings.low_vram:
        model.cuda()
    if device == "cpu":
        if settings.cpu_threads:
            torch.set_num_threads(settings.cpu_threads)  # process-wide; the owner thread runs the model
        threads = torch.get_num_threads()
        paths = ", ".join(filter(None, [paths, f"{threads} thread{'s' if threads > 1 else ''}"]))
    onnx = None
    if "int8" in paths:
        from plugins.voice.engines.xtts.quantize import quantize_gpt

        quantize_gpt(model)
    elif "int4" in paths:
        onnx = onnx_gpt(model, threads, settings.graphs_dir / f"gpt-{files['model.pth'][:16]}-{GRAPH}.onnx")
    network = None  # on a GPU the model's own decoder
    if device == "cpu":
        from plugins.voice.engines.xtts.channels_last import ChannelsLast

        network = ChannelsLast(model.hifigan_decoder.waveform_decoder, torch.bfloat16 if "bf16" in paths else None)
    chunking = Chunking(first=min(settings.first_chunk_tokens, settings.stream_chunk_size), then=settings.stream_chunk_size)
    # the decoder's kernels are built once the model is ready (XttsEngine._warm_decoder), not here: on a loaded
    # 2-core machine that made the load pass the soak's 30 s watchdog (while_loading = "wait")
    return Loaded(model, device, Streamer(model, chunking, network, onnx), paths)


def onnx_gpt(model: Any, threads: int, saved: Path) -> Any:
    """The GPT's blocks in 4-bit on ONNX Runtime (the graph kept in `saved`, keyed by the checkpoint's hash);
    torch's copies of their weights are let go (~1.5 GB; never read when the graph was kept)."""
    import torch

    from plugins.voice.engines.xtts.onnx_gpt import OnnxGpt

    onnx = OnnxGpt(model.gpt.gpt, threads, saved=saved)
    model.gpt.gpt.h = torch.nn.ModuleList()  # generation runs them on ONNX Runtime from now on
    return onnx


def chosen_device(settings: XttsSettings) -> str:
    import torch

    wanted = settings.device
    return "cuda" if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()) else "cpu"


def cpu_paths(settings: XttsSettings) -> str:
    """The CPU's faster paths these settings take on this machine ("GPT int8, decoder bf16"; "" on a GPU).
    Part of the engine's identity: their audio differs slightly from fp32's."""
    if chosen_device(settings) != "cpu":
        return ""
    quantize = {"auto": "int8" if missing() else "int4", "off": ""}.get(settings.cpu_quantize, settings.cpu_quantize)
    paths = [f"GPT {quantize}"] if quantize else []
    bf16 = settings.cpu_decoder == "bf16" or (settings.cpu_decoder == "auto" and has_amx())
    return ", ".join(paths + (["decoder bf16"] if bf16 else []))


def has_amx() -> bool:
    """Whether this CPU has AMX tiles, where oneDNN's bf16 convolutions run the decoder 2-3x faster than fp32
    (bench/xtts_full.py). Without them bf16 is emulated or unmeasured here, so `auto` keeps fp32."""
    import torch

    check = getattr(torch.cpu, "_is_amx_tile_supported", None)  # torch >= 2.3; private, so looked up
    return bool(check and check())


def short(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def load_failure(exc: BaseException, folder: Any) -> str:
    name = type(exc).__name__
    if name == "OutOfMemoryError":
        return 'not enough GPU memory to load XTTS; set [voice.xtts] low_vram = true or device = "cpu"'
    if isinstance(exc, FileNotFoundError):
        return f"an XTTS file is missing in {folder} ({short(exc)})"
    return f"{folder}/model.pth is not a loadable XTTS v2 checkpoint (truncated or another model): {short(exc)}"
