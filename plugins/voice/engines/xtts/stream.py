"""Our XTTS streaming loop: the GPT samples audio tokens with its KV cache, and the HiFi-GAN decoder
runs on a window of new latents, so each chunk costs the same however long the line already is.

coqui's `inference_stream` decodes every latent made so far at each chunk and keeps the new part,
so its decoder's work grows with the square of the line's length. Here the decoder's input frames
(the latents, linearly interpolated to the decoder's frame rate, exactly as `HifiDecoder.forward`
does) are computed in the whole line's coordinates; a frame is final once no later latent can
change it. Each chunk decodes the final frames not yet played, plus `CONTEXT` frames on the left
and `LOOKAHEAD` on the right (the convolutions' reach), and keeps only the new frames' samples: the
decoder is convolutional with a fixed hop, so the window's samples equal the full decode's up to
float rounding (tests/voice/engines/test_xtts_stream.py pins it), and no cross-fade is needed. Only the
interpolation (a few multiply-adds per frame) still runs over the whole line at each chunk. Windows
are a multiple of BUCKET frames (more left context), so the decoder sees a few input shapes, each
built once (`Streamer.warm_steps`, by the model's owner between lines once it is ready). The GPT runs in
torch (`TorchSteps`) or, with `cpu_quantize = "int4"`, on ONNX Runtime (onnx_gpt.OnnxSteps); on a CPU the
decoder is a channels-last copy of the model's (channels_last.ChannelsLast).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache, LogitsProcessorList
from transformers.generation.logits_process import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

CONTEXT = 12  # decoder frames of left context (the window then matches the full decode to ~2e-7)
LOOKAHEAD = 12  # frames held back on the right until later latents make them final (0.13 s)
SETTLE = 2  # latents at the end whose interpolated frames may still change
WARM_TOKENS = 120  # lines up to this many audio tokens show every window length a longer line uses
BUCKET = 16  # windows are a multiple of this many frames (more left context): a few shapes, each compiled once


@dataclass(frozen=True)
class Sampling:
    """How the GPT picks each audio token (inference_stream's defaults)."""

    temperature: float = 0.75
    top_k: int = 50
    top_p: float = 0.85
    repetition_penalty: float = 10.0
    max_new_tokens: int | None = None

    def processors(self) -> LogitsProcessorList:
        return LogitsProcessorList([RepetitionPenaltyLogitsProcessor(self.repetition_penalty),
                                    TemperatureLogitsWarper(self.temperature), TopKLogitsWarper(self.top_k),
                                    TopPLogitsWarper(self.top_p)])


@dataclass(frozen=True)
class Chunking:
    """Audio tokens per chunk: a small first one for a fast first sound, then chunks that grow with what is
    already made (so the audio in hand covers the next chunk's making), up to `then`."""

    first: int = 10
    then: int = 20

    def next(self, made: int) -> int:
        return self.first if made == 0 else min(self.then, max(self.first, made))


class TorchSteps:
    """The GPT in torch (fp32 or int8) with transformers' KV cache: each step's latent and audio logits."""

    def __init__(self, model: Any) -> None:
        self.inference, self.cache = model.gpt.gpt_inference, DynamicCache()

    def run(self, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.inference(input_ids=step, past_key_values=self.cache, use_cache=True, output_hidden_states=True,
                             return_dict=True)
        return self.inference.final_norm(out.hidden_states[-1][:, -1]), out.logits[:, -1, :]


@torch.inference_mode()
def tokens(model: Any, text: str, language: str, gpt_latent: torch.Tensor, sampling: Sampling,
           forced: list[int] | None = None, onnx: Any = None) -> Iterator[tuple[int, torch.Tensor]]:
    """(audio token, its GPT latent) until the stop token or the cap. `forced` replays a given token
    sequence instead of sampling (teacher forcing: int8 against fp32 on the same tokens). `onnx`: the
    GPT's blocks on ONNX Runtime (onnx_gpt.OnnxGpt, `cpu_quantize = "int4"`) instead of torch."""
    gpt = model.gpt
    lang = language.split("-")[0]
    text_tokens = torch.IntTensor(model.tokenizer.encode(text.strip().lower(), lang=lang)).unsqueeze(0).to(model.device)
    if text_tokens.shape[-1] >= model.args.gpt_max_text_tokens:
        raise ValueError(f"XTTS takes at most {model.args.gpt_max_text_tokens} text tokens a sentence")
    ids = gpt.compute_embeddings(gpt_latent.to(model.device), text_tokens)  # also stores the prefix
    processors = sampling.processors()
    limit = gpt.max_gen_mel_tokens
    if sampling.max_new_tokens is not None:
        limit = min(limit, sampling.max_new_tokens)
    if onnx is None:
        steps: Any = TorchSteps(model)
    else:
        from plugins.voice.engines.xtts.onnx_gpt import OnnxSteps

        steps = OnnxSteps(model, onnx, capacity=ids.shape[1] + limit, conditioning=gpt_latent.shape[1])
    step = ids
    for index in range(limit if forced is None else min(limit, len(forced))):
        latent, logits = steps.run(step)
        if forced is None:
            scores = processors(ids, logits.float())
            token = torch.multinomial(F.softmax(scores, dim=-1), num_samples=1)
        else:
            token = torch.tensor([[forced[index]]], device=ids.device)
        yield int(token), latent[0]
        if int(token) == gpt.stop_audio_token:
            return
        ids = torch.cat([ids, token], dim=-1)
        step = token


class WindowedDecoder:
    """Turns a growing list of GPT latents into audio, decoding each frame once (plus its context)."""

    def __init__(self, model: Any, speaker_embedding: torch.Tensor, speed: float = 1.0,
                 network: Callable[..., torch.Tensor] | None = None) -> None:
        self.decoder = model.hifigan_decoder
        self.network = network or self.decoder.waveform_decoder  # a CPU's: channels_last.ChannelsLast
        self.speaker = speaker_embedding.to(model.device)
        self.length_scale = 1.0 / max(speed, 0.05)
        self.hop = math.prod(up.stride[0] for up in self.decoder.waveform_decoder.ups)  # samples per frame
        self.latents: list[torch.Tensor] = []
        self.done = 0  # decoder frames already turned into samples

    def frames(self) -> torch.Tensor:
        """The decoder's input for every latent so far, [1, C, frames], as HifiDecoder.forward makes it."""
        z = torch.stack(self.latents)[None].transpose(1, 2)
        if self.length_scale != 1.0:
            z = F.interpolate(z, scale_factor=self.length_scale, mode="linear")
        decoder = self.decoder
        z = F.interpolate(z, scale_factor=[decoder.ar_mel_length_compression / decoder.output_hop_length], mode="linear")
        if decoder.output_sample_rate != decoder.input_sample_rate:
            z = F.interpolate(z, scale_factor=[decoder.output_sample_rate / decoder.input_sample_rate], mode="linear")
        return z

    def scale(self) -> float:
        decoder = self.decoder
        return (self.length_scale * decoder.ar_mel_length_compression / decoder.output_hop_length
                * decoder.output_sample_rate / decoder.input_sample_rate)

    @torch.inference_mode()
    def add(self, latents: list[torch.Tensor], final: bool = False) -> torch.Tensor:
        """Takes new latents; returns the samples now final (1-D, float32 on the model's device)."""
        self.latents.extend(latents)
        if not self.latents:
            return torch.zeros(0)
        z = self.frames()
        total = z.shape[-1]
        ready = total if final else min(total, math.floor((len(self.latents) - SETTLE) * self.scale())) - LOOKAHEAD
        if ready <= self.done:
            return torch.zeros(0, device=z.device)
        end = total if final else min(total, ready + LOOKAHEAD)
        start = max(0, self.done - CONTEXT)
        if start > 0:  # a few window lengths; at the line's first frames only the decoder's own edge is exact
            start = end - bucketed(end - start)
        window = z[:, :, max(start, 0):end]
        if start < 0:  # silence before the line, further from the kept frames than CONTEXT
            window = F.pad(window, (-start, 0))
        wav = self.decode(window).reshape(-1).float()
        samples = wav[(self.done - start) * self.hop:(ready - start) * self.hop]
        self.done = ready
        return samples

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.network(z, g=self.speaker)


class Lengths(WindowedDecoder):
    """Records each window's length instead of decoding it (Streamer.window_lengths)."""

    def __init__(self, model: Any, speaker: torch.Tensor, lengths: list[int]) -> None:
        super().__init__(model, speaker)
        self.lengths = lengths  # in the order the windows came

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.lengths.append(int(z.shape[-1]))
        return torch.zeros(z.shape[-1] * self.hop)


def bucketed(frames: int) -> int:
    """A window's length rounded up to whole buckets. oneDNN builds its convolution kernels for each input
    shape (bf16 on a 2-core AMX CPU: ~0.6 s a shape) and keeps ~1024 of them: windows of every length
    rebuilt them all the time; a few lengths are built once."""
    return -(-frames // BUCKET) * BUCKET


class Streamer:
    """Our loop over one loaded model (the model's owner thread calls it; tests wrap it)."""

    def __init__(self, model: Any, chunking: Chunking, network: Any = None, onnx: Any = None) -> None:
        self.model = model
        self.chunking = chunking
        self.network = network  # the decoder on a CPU (channels_last.ChannelsLast), or None: the model's own
        self.onnx = onnx  # the GPT's blocks on ONNX Runtime in 4-bit (onnx_gpt.OnnxGpt), or None: torch

    def warm(self) -> None:
        """Builds the decoder's kernels for every window length at once (tests; the engine runs `warm_steps`)."""
        for step in self.warm_steps():
            step()

    def warm_steps(self) -> list[Callable[[], None]]:
        """One step per window shape a line at normal speed can use, each decoding silence in it, so the first
        lines do not pay for building the decoder's kernels (~0.6 s a shape in bf16). None in fp32 or on a GPU,
        where a new shape costs little (full size, 2 cores, channels-last fp32: ~60 ms once, on a 0.2-0.3 s window)."""
        if getattr(self.network, "dtype", None) != torch.bfloat16:
            return []
        network = self.model.hifigan_decoder.waveform_decoder
        speaker = torch.zeros(1, network.cond_layer.in_channels, 1)
        decoder = WindowedDecoder(self.model, speaker, network=self.network)
        silence = functools.partial(torch.zeros, 1, network.conv_pre.in_channels, device=self.model.device)
        return [functools.partial(_decode, decoder, silence(frames)) for frames in sorted(self.window_lengths(speaker))]

    def window_lengths(self, speaker: torch.Tensor) -> set[int]:
        """The window lengths of lines of every token count up to the model's cap (past WARM_TOKENS the
        windows repeat), found by streaming silent latents through a decoder that only records them. Lines
        within the first chunk (under half a second) are left out: each is one window of its own length."""
        lengths: list[int] = []
        width = self.model.args.gpt_n_model_channels
        for count in range(self.chunking.first + 1, min(self.model.args.gpt_max_audio_tokens, WARM_TOKENS) + 1):
            decoder, made = Lengths(self.model, speaker, lengths), 0
            while made < count:
                size = min(self.chunking.next(made), count - made)
                decoder.add([torch.zeros(width)] * size, final=made + size == count)
                made += size
        return set(lengths)

    def __call__(self, text: str, language: str, gpt_latent: torch.Tensor, speaker_embedding: torch.Tensor,
                 sampling: Sampling, speed: float = 1.0) -> Iterator[torch.Tensor]:
        """Audio for one sentence (float32 at 24 kHz), a chunk as soon as it is final."""
        decoder = WindowedDecoder(self.model, speaker_embedding, speed, self.network)
        pending: list[torch.Tensor] = []
        made, want = 0, self.chunking.next(0)
        for _token, latent in tokens(self.model, text, language, gpt_latent, sampling, onnx=self.onnx):
            pending.append(latent)
            if len(pending) >= want:
                samples = decoder.add(pending)
                made += len(pending)
                pending, want = [], self.chunking.next(made)
                if samples.numel():
                    yield samples
        samples = decoder.add(pending, final=True)
        if samples.numel():
            yield samples


@torch.inference_mode()
def _decode(decoder: WindowedDecoder, z: torch.Tensor) -> None:
    decoder.decode(z)
