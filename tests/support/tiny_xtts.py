"""Builds randomly initialised XTTS v2 checkpoints in the real on-disk layout: a tiny one (the tests)
and one of the released model's full size (bench/xtts.py --full-size, the slow-machine tests).

The files (config.json, model.pth, vocab.json, speakers_xtts.pth) load through exactly the
code path real weights use. Tiny: the GPT is shrunk (1 layer, 64 channels), the HiFi-GAN and
speaker encoder keep their real size (~46 MB as fp16). Full: every shape of the released v2
checkpoint (GPT 30 layers x 1024 wide, 16 heads, perceiver resampler, 6681 text tokens, 1026
audio codes, 605 audio positions; HiFi-GAN decoder with the speaker encoder), fp32 as released
(about 1.8 GB). Built once into a cache dir; never committed. Random weights never say anything
meaningful and would rarely stop, so the stop token is silenced: the tiny model's
`gpt_max_audio_tokens` is small (about a second of noise a call); the full model keeps the real
605, and the engine's `max_audio_tokens_per_word` gives each line what a real one costs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]
RELEASED_TEXT_TOKENS = 6681  # the released vocab.json's size: the text embedding's rows


def default_cache(kind: str = "tiny") -> Path:
    """Where a built model is kept between runs: named by a hash of this builder and coqui-tts's version,
    so a change to either builds it again (a stale model is never reused)."""
    from importlib.metadata import version

    builder = hashlib.sha256(Path(__file__).read_bytes() + version("coqui-tts").encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "voiced-if-tests" / f"{kind}-xtts-{builder}"


def build_full_xtts(folder: Path | None = None, seed: int = 1234) -> Path:
    """Returns a folder holding the full-size random model, building it if needed (about a minute)."""
    return build_tiny_xtts(folder or default_cache("full"), seed, full=True)


def build_tiny_xtts(folder: Path | None = None, seed: int = 1234, max_audio_tokens: int = 24,
                    full: bool = False) -> Path:
    """Returns a folder holding the tiny model, building it if needed (about 10 s)."""
    folder = folder or default_cache()
    if (folder / "model.pth").is_file():
        return folder
    import torch
    import TTS
    from tokenizers import Tokenizer
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    work = folder.with_name(folder.name + f".building-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tokenizer = Tokenizer.from_file(str(Path(TTS.__file__).parent / "tts/utils/assets/tortoise/tokenizer.json"))
    tokenizer.add_special_tokens(["[START]", "[STOP]"] + [f"[{lang}]" for lang in LANGUAGES + ["zh"]])
    if full:  # the text embedding has a row per token of the vocabulary: as many as the released one
        tokenizer.add_tokens([f"[unused{n}]" for n in range(RELEASED_TEXT_TOKENS - tokenizer.get_vocab_size())])
    tokenizer.save(str(work / "vocab.json"))

    config = XttsConfig()
    config.languages = LANGUAGES
    args = config.model_args
    if not full:
        args.gpt_layers, args.gpt_n_model_channels, args.gpt_n_heads, args.decoder_input_dim = 1, 64, 2, 64
    args.gpt_num_audio_tokens, args.gpt_start_audio_token, args.gpt_stop_audio_token = 1026, 1024, 1025
    args.gpt_use_perceiver_resampler = True
    args.gpt_use_masking_gt_prompt_approach = True
    args.gpt_number_text_tokens = tokenizer.get_vocab_size()
    args.gpt_start_text_token = tokenizer.token_to_id("[START]")
    args.gpt_stop_text_token = tokenizer.token_to_id("[STOP]")
    args.gpt_max_audio_tokens = 605 if full else max_audio_tokens
    config.save_json(str(work / "config.json"))

    torch.manual_seed(seed)
    model = Xtts(config)
    with torch.no_grad():  # random weights may pick "stop" at once, leaving no audio: make it never stop early
        model.gpt.mel_head.bias[args.gpt_stop_audio_token] = -1e4
    state = {key: value.half() if value.is_floating_point() and not full else value
             for key, value in model.state_dict().items()}
    torch.save({"model": state, "config": config.to_dict()}, work / "model.pth")
    latent = {"gpt_cond_latent": torch.zeros(1, 32, args.gpt_n_model_channels),
              "speaker_embedding": torch.zeros(1, 512, 1)}
    torch.save({"Ana Florence": latent}, work / "speakers_xtts.pth")
    if folder.exists():
        shutil.rmtree(work)
    else:
        work.rename(folder)
    return folder


def fingerprint(folder: Path) -> str:
    return hashlib.sha256((folder / "model.pth").read_bytes()).hexdigest()[:12]
