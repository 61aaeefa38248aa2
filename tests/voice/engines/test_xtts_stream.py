"""Our XTTS streaming loop on the real tiny checkpoint (random weights, real code): the same tokens as
coqui's generator, windowed decoding equal to the full decode, the CPU's channels-last decoder equal to
the model's own, int8 and bf16 close to fp32 (int4: test_xtts_int4.py).

What this cannot cover: how int8 or bf16 sound on real weights (they cannot be had here); the
figures for the full-size model are in bench/xtts.py --full-size and the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plugins.voice.core.settings import XttsSettings
from plugins.voice.engines.xtts import stream
from plugins.voice.engines.xtts.channels_last import ChannelsLast
from plugins.voice.engines.xtts.loading import build, cpu_paths

pytestmark = pytest.mark.slow
TEXT = "Many have come here to learn my name."


@pytest.fixture(scope="module")
def loaded(installed_xtts: Path) -> Any:
    return build(XttsSettings(model_dir=installed_xtts, cpu_quantize="off", cpu_decoder="fp32"))


@pytest.fixture(scope="module")
def conditioning(loaded: Any) -> tuple[Any, Any]:
    import torch

    generator = torch.Generator().manual_seed(5)
    width = loaded.model.args.gpt_n_model_channels
    return torch.randn(1, 32, width, generator=generator) * 0.5, torch.randn(1, 512, 1, generator=generator)


def sampled(model: Any, gpt_latent: Any, seed: int = 3, **sampling: Any) -> list[tuple[int, Any]]:
    import torch

    torch.manual_seed(seed)
    return list(stream.tokens(model, TEXT, "en", gpt_latent, stream.Sampling(**sampling)))


def test_our_token_loop_samples_what_coquis_generator_samples(loaded: Any, conditioning: tuple[Any, Any]) -> None:
    import torch

    model, (gpt_latent, _) = loaded.model, conditioning
    torch.manual_seed(3)
    text_tokens = torch.IntTensor(model.tokenizer.encode(TEXT.lower(), lang="en")).unsqueeze(0)
    generator = model.gpt.get_generator(
        fake_inputs=model.gpt.compute_embeddings(gpt_latent, text_tokens), top_k=50, top_p=0.85, temperature=0.75,
        do_sample=True, num_beams=1, num_return_sequences=1, length_penalty=1.0, repetition_penalty=10.0,
        output_attentions=False, output_hidden_states=True, return_dict_in_generate=True)
    theirs = [(int(token), latent[0]) for token, latent in generator]
    ours = sampled(model, gpt_latent)
    assert [t for t, _ in ours] == [t for t, _ in theirs] and len(ours) > 10
    assert max(float((a - b).abs().max()) for (_, a), (_, b) in zip(ours, theirs, strict=True)) < 1e-5
    assert len(sampled(model, gpt_latent, max_new_tokens=7)) == 7  # the engine's per-word cap


@pytest.mark.parametrize(("speed", "sizes"), [(1.0, (10, 20)), (1.0, (1, 3)), (1.3, (8, 8)), (0.8, (4, 20))])
def test_windowed_decoding_equals_the_full_decode_of_the_same_latents(
        loaded: Any, conditioning: tuple[Any, Any], speed: float, sizes: tuple[int, int]) -> None:
    import torch
    import torch.nn.functional as F

    model, (gpt_latent, speaker) = loaded.model, conditioning
    latents = [latent for _, latent in sampled(model, gpt_latent)]
    z = torch.stack(latents)[None]
    if speed != 1.0:  # what inference_stream does to the latents before its decoder
        z = F.interpolate(z.transpose(1, 2), scale_factor=1 / speed, mode="linear").transpose(1, 2)
    with torch.inference_mode():
        full = model.hifigan_decoder(z, g=speaker).reshape(-1).numpy()
    decoder, pieces, at = stream.WindowedDecoder(model, speaker, speed, loaded.streamer.network), [], 0
    chunking = stream.Chunking(*sizes)
    while at < len(latents):
        size = chunking.next(at)
        pieces.append(decoder.add(latents[at:at + size], final=at + size >= len(latents)).numpy())
        at += size
    ours = np.concatenate(pieces)
    assert len(ours) == len(full)
    assert np.corrcoef(ours, full)[0, 1] >= 0.999
    assert np.abs(ours - full).max() < 1e-4


def windows_of(model: Any, lines: int, chunking: stream.Chunking) -> tuple[list[int], list[int]]:
    """The window lengths of `lines` lines of 11 to 300 random latents each, streamed in `chunking`'s chunks:
    each line's first (it starts at the decoder's own edge, so it cannot take more context), and the others."""
    import torch

    generator, firsts, lengths = torch.Generator().manual_seed(7), [], []
    for n in np.linspace(11, 300, lines).astype(int):
        latents = list(torch.randn(int(n), model.args.gpt_n_model_channels, generator=generator))
        decoder, at = stream.Lengths(model, torch.zeros(1, 512, 1), []), 0
        while at < len(latents):
            size = chunking.next(at)
            decoder.add(latents[at:at + size], final=at + size >= len(latents))
            at += size
        firsts.append(decoder.lengths[0])
        lengths += decoder.lengths[1:]
    return firsts, lengths


def test_windows_come_in_a_few_lengths_each_warmed_before_the_first_line(loaded: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """oneDNN builds kernels for every new input shape (~0.6 s each in bf16): windows of every length would
    rebuild them all game long. Lines of 11 to 300 tokens use a handful, and `warm` decodes each of them."""
    import torch

    monkeypatch.setattr(loaded.model.args, "gpt_max_audio_tokens", 605)  # the released model's cap, not the tiny's
    firsts, lengths = windows_of(loaded.model, 40, loaded.streamer.chunking)
    assert all(length % stream.BUCKET == 0 for length in lengths) and len(set(lengths)) <= 8
    assert len(set(firsts)) == 1  # lines longer than the first chunk start alike
    warmed: list[int] = []
    monkeypatch.setattr(stream.WindowedDecoder, "decode", lambda self, z: warmed.append(int(z.shape[-1])))
    bf16 = ChannelsLast(loaded.model.hifigan_decoder.waveform_decoder, torch.bfloat16)
    monkeypatch.setattr(loaded.streamer, "network", bf16)  # fp32 builds a new shape at no cost: nothing to warm
    loaded.streamer.warm()
    assert set(firsts + lengths) <= set(warmed) and len(warmed) <= 10


def test_chunks_start_small_and_grow_with_the_audio_already_made() -> None:
    chunking = stream.Chunking(first=10, then=20)
    assert [chunking.next(made) for made in (0, 10, 20, 40)] == [10, 10, 20, 20]


def test_int8_gpt_stays_close_to_fp32_on_the_same_tokens(installed_xtts: Path, conditioning: tuple[Any, Any],
                                                        loaded: Any) -> None:
    import torch

    gpt_latent, speaker = conditioning
    fp32 = sampled(loaded.model, gpt_latent)
    int8 = build(XttsSettings(model_dir=installed_xtts, cpu_quantize="int8", cpu_decoder="fp32"))
    kinds = {f"{type(module).__module__}.{type(module).__name__}" for module in int8.model.gpt.gpt.modules()}
    assert not any(kind.endswith(".Conv1D") for kind in kinds)
    assert "torch.ao.nn.quantized.dynamic.modules.linear.Linear" in kinds
    forced = list(stream.tokens(int8.model, TEXT, "en", gpt_latent, stream.Sampling(), forced=[t for t, _ in fp32]))
    a, b = torch.stack([latent for _, latent in fp32]), torch.stack([latent for _, latent in forced])
    assert [t for t, _ in forced] == [t for t, _ in fp32]
    assert float(torch.nn.functional.cosine_similarity(a, b, dim=-1).min()) > 0.99


def test_the_cpus_channels_last_decoder_equals_the_models_own_and_leaves_it_as_it_was(
        loaded: Any, conditioning: tuple[Any, Any]) -> None:
    """The CPU runs a converted copy (2-D convolutions on channels-last tensors, weight norm folded); weight
    norm's layer classes are shared between a module and its deep copy, so folding them in the copy would
    have broken the original: it must still run, and give what it gave."""
    import torch

    network, speaker = loaded.model.hifigan_decoder.waveform_decoder, conditioning[1]
    z = torch.randn(1, network.conv_pre.in_channels, 37, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        before = network(z, g=speaker)
        ours = ChannelsLast(network)(z, g=speaker)
        after = network(z, g=speaker)
    assert ours.shape == before.shape and ours.dtype == torch.float32
    assert float((ours - before).abs().max()) < 1e-5 * max(1.0, float(before.abs().max()))
    assert torch.equal(before, after)
    converted = ChannelsLast(network, torch.bfloat16).network
    convolutions = [m for m in converted.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
    assert len(convolutions) == sum(isinstance(m, torch.nn.Conv1d | torch.nn.ConvTranspose1d) for m in network.modules())
    assert all(m.weight.dtype == torch.bfloat16 and m.weight.is_contiguous(memory_format=torch.channels_last)
               for m in convolutions)


def test_a_bf16_decoder_stays_close_to_fp32(loaded: Any, conditioning: tuple[Any, Any]) -> None:
    import torch

    model, (gpt_latent, speaker) = loaded.model, conditioning
    latents = [latent for _, latent in sampled(model, gpt_latent)][:8]  # a third of a second: bf16 on a CPU is slow
    fp32 = stream.WindowedDecoder(model, speaker).add(latents, final=True)
    network = ChannelsLast(model.hifigan_decoder.waveform_decoder, torch.bfloat16)
    bf16 = stream.WindowedDecoder(model, speaker, network=network).add(latents, final=True)
    assert bf16.dtype == torch.float32 and len(bf16) == len(fp32)
    snr = 10 * torch.log10((fp32 ** 2).sum() / ((fp32 - bf16) ** 2).sum())
    assert float(snr) > 15


def test_the_cpu_paths_are_in_the_engines_identity_and_its_ready_notice(installed_xtts: Path, tmp_path: Path) -> None:
    from plugins.voice.engines.base import EngineEvent
    from plugins.voice.engines.xtts.engine import XttsEngine
    from tests.support.xtts_helpers import xtts_voice

    voice = xtts_voice(installed_xtts / "config.json")  # any file: identity does not read the reference
    identities = {quantize: XttsEngine(XttsSettings(model_dir=installed_xtts, device="cpu", cpu_quantize=quantize,
                                                    cpu_decoder=decoder)).identity(voice)
                  for quantize, decoder in (("auto", "fp32"), ("off", "fp32"), ("int8", "bf16"), ("int4", "fp32"))}
    assert identities["auto"] == identities["int4"] and identities["int4"].endswith(":int4")  # auto: the fastest
    assert identities["int8"].endswith(":int8+dec-bf16")
    assert not identities["off"].endswith(("int4", "int8", "bf16")) and len(set(identities.values())) == 3
    events: list[EngineEvent] = []
    settings = XttsSettings(model_dir=installed_xtts, device="cpu", cpu_threads=2, latents_dir=tmp_path / "l")
    engine = XttsEngine(settings, events.append)
    engine.prepare()
    try:
        assert engine.owner.loaded.wait(120) and engine.owner.error is None
    finally:
        engine.close()
    paths = cpu_paths(settings)  # the decoder's path depends on the CPU (below)
    assert paths.startswith("GPT int4")
    assert any(event.kind == "ready" and f"on cpu ({paths}, 2 threads)" in event.text for event in events), events


def test_auto_runs_the_decoder_in_bf16_where_the_cpu_has_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    """Either kind of CPU is pretended here (this machine has one kind): `auto` follows `has_amx`, the
    explicit settings do not."""
    from plugins.voice.engines.xtts import loading

    for amx in (True, False):
        monkeypatch.setattr(loading, "has_amx", lambda amx=amx: amx)
        paths = {decoder: loading.cpu_paths(XttsSettings(device="cpu", cpu_decoder=decoder))
                 for decoder in ("auto", "fp32", "bf16")}
        assert ("decoder bf16" in paths["auto"]) is amx
        assert "bf16" not in paths["fp32"] and paths["bf16"] == "GPT int4, decoder bf16"
