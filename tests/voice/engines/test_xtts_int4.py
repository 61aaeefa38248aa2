"""The XTTS GPT on ONNX Runtime (`cpu_quantize = "int4"`), on the real tiny checkpoint: the graph built from
the model's weights equals torch's GPT (fp32 weights), 4-bit stays close on the same tokens, lines that
interleave (preemption between chunks) keep their own caches, and the engine speaks with it.

What this cannot cover: how 4-bit weights sound on real XTTS weights (they cannot be had here; `engine say
--check` and the quality gate are how a player checks them); the speed, measured on the full-size model
in bench/xtts.py --full-size and the README.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from plugins.voice.core.settings import XttsSettings
from plugins.voice.engines.models import ModelError
from plugins.voice.engines.xtts import stream
from plugins.voice.engines.xtts.loading import build, cpu_paths
from plugins.voice.engines.xtts.onnx_gpt import OnnxGpt

pytestmark = pytest.mark.slow
TEXT = "Many have come here to learn my name."


@pytest.fixture(scope="module")
def fp32(installed_xtts: Path) -> Any:
    return build(XttsSettings(model_dir=installed_xtts, device="cpu", cpu_quantize="off", cpu_decoder="fp32")).model


@pytest.fixture(scope="module")
def gpt_latent(fp32: Any) -> Any:
    import torch

    generator = torch.Generator().manual_seed(5)
    return torch.randn(1, 32, fp32.args.gpt_n_model_channels, generator=generator) * 0.5


def sampled(model: Any, gpt_latent: Any, seed: int = 3, **kwargs: Any) -> list[tuple[int, Any]]:
    import torch

    torch.manual_seed(seed)
    return list(stream.tokens(model, TEXT, "en", gpt_latent, stream.Sampling(), **kwargs))


def closeness(a: list[tuple[int, Any]], b: list[tuple[int, Any]]) -> tuple[float, float]:
    """(smallest cosine similarity, largest difference) of two runs' latents, token by token."""
    import torch

    x, y = torch.stack([latent for _, latent in a]), torch.stack([latent for _, latent in b])
    return float(torch.nn.functional.cosine_similarity(x, y, dim=-1).min()), float((x - y).abs().max())


def test_the_onnx_graph_is_the_gpt_and_4_bit_stays_close_on_the_same_tokens(fp32: Any, gpt_latent: Any) -> None:
    reference = sampled(fp32, gpt_latent)
    tokens = [token for token, _ in reference]
    assert len(tokens) > 10
    onnx = OnnxGpt(fp32.gpt.gpt, threads=1, bits=None)
    for _ in range(2):  # the voice's conditioning made on the first line, copied into the second
        same = sampled(fp32, gpt_latent, onnx=onnx)
        assert [token for token, _ in same] == tokens  # sampling on its logits picks what torch's picked
        assert closeness(reference, same)[1] < 1e-4
    assert len(onnx.voices) == 1
    int4 = sampled(fp32, gpt_latent, forced=tokens, onnx=OnnxGpt(fp32.gpt.gpt, threads=1))
    cosine, largest = closeness(reference, int4)
    assert [token for token, _ in int4] == tokens and cosine > 0.99 and largest > 1e-4  # close, and quantized


def test_lines_that_interleave_keep_their_own_keys_and_values(fp32: Any, gpt_latent: Any) -> None:
    """The model's owner may pause a background line between chunks to speak an urgent one."""
    onnx = OnnxGpt(fp32.gpt.gpt, threads=1)
    alone = [sampled(fp32, gpt_latent * scale, seed=seed, onnx=onnx) for scale, seed in ((1.0, 3), (-1.0, 4))]
    runs: list[Any] = [stream.tokens(fp32, TEXT, "en", gpt_latent * scale, stream.Sampling(),
                                     forced=[token for token, _ in solo], onnx=onnx)
                       for scale, solo in zip((1.0, -1.0), alone, strict=True)]
    together: list[list[tuple[int, Any]]] = [[], []]
    while any(runs):  # a token of each in turn
        for n, run in enumerate(runs):
            if run is not None and (made := next(run, None)) is not None:
                together[n].append(made)
            else:
                runs[n] = None
    assert [token for token, _ in alone[0]] != [token for token, _ in alone[1]]
    for solo, mixed in zip(alone, together, strict=True):
        assert [token for token, _ in mixed] == [token for token, _ in solo]
        assert closeness(solo, mixed)[1] < 1e-5


def test_the_engine_speaks_with_the_int4_gpt_and_lets_torchs_copy_go(installed_xtts: Path) -> None:
    loaded = build(XttsSettings(model_dir=installed_xtts, device="cpu", cpu_quantize="int4", cpu_decoder="fp32"))
    assert loaded.paths.startswith("GPT int4") and len(loaded.model.gpt.gpt.h) == 0
    import torch

    chunks = list(loaded.streamer(TEXT, "en", torch.zeros(1, 32, loaded.model.args.gpt_n_model_channels),
                                  torch.zeros(1, 512, 1), stream.Sampling()))
    audio = torch.cat(chunks)
    assert len(chunks) >= 2 and len(audio) > 12000 and float(audio.abs().max()) > 0


def test_without_the_onnx_package_int4_says_which_extra_to_install_and_auto_takes_int8(
        installed_xtts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cpu_paths(XttsSettings(device="cpu", cpu_decoder="fp32")) == "GPT int4"
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    with pytest.raises(ModelError, match=r"needs the onnx package: pip install -c requirements.lock 'voiced-if\[xtts\]'"):
        build(XttsSettings(model_dir=installed_xtts, device="cpu", cpu_quantize="int4"))
    assert cpu_paths(XttsSettings(device="cpu", cpu_decoder="fp32")) == "GPT int8"


def test_the_4_bit_graph_is_kept_and_a_later_start_reads_it_instead_of_the_gpts_weights(
        installed_xtts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later start opens the graph kept on disk (keyed by the checkpoint's hash) and never builds it again; its
    lines are the first start's, token for token; a damaged graph is built again; the checkpoint is never written."""
    import torch

    from plugins.voice.engines.models import XTTS, verify
    from plugins.voice.engines.xtts import onnx_gpt

    settings = XttsSettings(model_dir=installed_xtts, device="cpu", cpu_quantize="int4", cpu_decoder="fp32",
                            graphs_dir=tmp_path / "graphs")
    def line(loaded: Any) -> list[int]:
        torch.manual_seed(4)
        zeros = torch.zeros(1, 32, loaded.model.args.gpt_n_model_channels)
        return [token for token, _ in stream.tokens(loaded.model, TEXT, "en", zeros, stream.Sampling(),
                                                    onnx=loaded.streamer.onnx)]

    first = line(build(settings))
    (kept,) = (tmp_path / "graphs").iterdir()
    assert kept.name.startswith(f"gpt-{verify(XTTS, installed_xtts)['model.pth'][:16]}-int4")
    built = kept.stat().st_mtime_ns

    def no_build(self: Any) -> Any:
        raise AssertionError("the graph was built again")

    with monkeypatch.context() as patched:
        patched.setattr(onnx_gpt.Graph, "build", no_build)
        again = build(settings)
        assert line(again) == first and kept.stat().st_mtime_ns == built
    kept.write_bytes(kept.read_bytes()[:1000])  # damaged (a disk that filled up): built again, and kept whole
    assert line(build(settings)) == first and kept.stat().st_size > 1000
    verify(XTTS, installed_xtts)  # the checkpoint was read through a memory map, never written
