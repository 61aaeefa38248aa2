"""Our streaming loop over a loaded Pocket TTS model: one latent frame (80 ms) at a time, on the caller's thread.

pocket-tts's own `generate_audio_stream` runs the flow LM and the Mimi decoder on two threads of its own
that outlive a stream closed early; here both run where the line is read, so closing the generator stops
the work at once and nothing is left to join. The decoder takes the frames in growing chunks (1, 2, then 4):
the first sound comes after one frame, and Mimi costs less per frame in longer calls (full size, 2 cores:
13.5 ms a frame one at a time, 7.3 ms four at a time).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import torch

SAMPLE_RATE = 24000
FRAMES_PER_SECOND = 12.5
CHUNKS = (1, 2, 4)  # frames decoded per call: the first call, the second, then every call
MIN_FRAMES_BEFORE_EOS = 6  # as pocket-tts: some voices' end-of-speech logit passes before speech starts
TAIL_FRAMES = 2  # frames kept after the end of speech (the word's release)


def frame_cap(words: int, per_word: float, tokens: int) -> int:
    """The most frames a part may take: `per_word` a word, else pocket-tts's own estimate from its tokens."""
    if per_word > 0:
        return max(MIN_FRAMES_BEFORE_EOS + TAIL_FRAMES, math.ceil(words * per_word))
    return math.ceil((tokens / 3.0 + 2.0) * FRAMES_PER_SECOND)


class Pacer:
    """A line's pace without a change of pitch: the latent frames resampled in time before Mimi decodes them
    (frame j of the output is frame j * speed of the model's, linearly interpolated), as they come."""

    def __init__(self, speed: float) -> None:
        self.speed = min(2.0, max(0.5, speed))
        self.frames: list[torch.Tensor] = []
        self.made = 0  # output frames so far

    def add(self, frame: torch.Tensor, last: bool = False) -> list[torch.Tensor]:
        self.frames.append(frame)
        if self.speed == 1.0:
            self.made += 1
            return [frame]
        out = []
        while (at := self.made * self.speed) <= len(self.frames) - (1 if last else 2):
            low = int(at)
            high = min(low + 1, len(self.frames) - 1)
            weight = at - low
            out.append(self.frames[low] * (1 - weight) + self.frames[high] * weight)
            self.made += 1
        return out


def parts(model: Any, text: str) -> list[str]:
    """The line as pocket-tts splits and normalizes it (sentences packed up to its token limit)."""
    from pocket_tts.models.text_chunking import prepare_text_prompt, split_into_best_sentences

    options = (model.pad_with_spaces_for_short_inputs, model.remove_semicolons, model.append_terminal_punctuation,
               model.capitalize_first_letter, model.replace_characters)
    chunks = split_into_best_sentences(model.flow_lm.conditioner.tokenizer, text, 50, options[0],
                                       remove_semicolons=options[1], append_terminal_punctuation=options[2],
                                       capitalize_first_letter=options[3], replace_characters=options[4])
    return [prepare_text_prompt(chunk, *options)[0] for chunk in chunks]


@torch.inference_mode()
def speak(model: Any, voice_state: Any, text: str, per_word: float, speed: float = 1.0,
          forced: int | None = None) -> Iterator[torch.Tensor]:
    """Audio for one part (float32, 24 kHz), a chunk as soon as it is decoded. It ends a couple of frames after
    the model's end of speech, or at the cap; `forced`: exactly that many frames (benches: random weights)."""
    from pocket_tts.modules.stateful_module import increment_steps, init_states

    state = copy.deepcopy(voice_state)  # the voice's prompt state is shared by every line in that voice
    tokens = model.flow_lm.conditioner.prepare(text)
    cap = forced or frame_cap(len(text.split()), per_word, tokens.shape[1])
    end = model._flow_lm_current_end(state)
    model._expand_kv_cache(state, sequence_length=end + tokens.shape[1] + cap)
    model._run_flow_lm_and_increment_step(model_state=state, text_tokens=tokens)
    steps = int(model.mimi.encoder_frame_rate / model.mimi.frame_rate)
    mimi_state = init_states(model.mimi, batch_size=1, sequence_length=math.ceil(cap * 2 + 1) * steps)
    fade = torch.linspace(0, 1, SAMPLE_RATE // 200)  # a fresh decoder clicks in its first 5 ms (as pocket-tts)
    latent = torch.full((1, 1, model.flow_lm.ldim), float("nan"), dtype=model.flow_lm.dtype)
    pacer, pending = Pacer(speed), []
    calls, eos_at = 0, None
    for step in range(cap):
        latent, eos = model._run_flow_lm_and_increment_step(model_state=state, backbone_input_latents=latent)
        if forced is None and eos_at is None and step >= MIN_FRAMES_BEFORE_EOS and bool(eos.item()):
            eos_at = step
        last = step == cap - 1 or (eos_at is not None and step >= eos_at + TAIL_FRAMES)
        pending += pacer.add(latent, last)
        if pending and (len(pending) >= CHUNKS[min(calls, len(CHUNKS) - 1)] or last):
            frames = torch.cat(pending, dim=1) * model.flow_lm.emb_std + model.flow_lm.emb_mean
            audio = model.mimi.decode_from_latent(frames, mimi_state)[0, 0]
            increment_steps(model.mimi, mimi_state, increment=steps * len(pending))
            if calls == 0:
                audio[: fade.numel()] *= fade[: audio.numel()]
            calls, pending = calls + 1, []
            yield audio
        if last:
            return
