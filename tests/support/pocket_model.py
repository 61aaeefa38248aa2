"""Pocket TTS models with random weights, made here (no download): a tiny one for the tests and the full-size
English one for the benches, each built from the package's own config by pocket-tts's own code, with a tokenizer
made locally (a unigram vocabulary of the config's size: letters, then pairs and triples of letters)."""

from __future__ import annotations

import itertools
import string
from pathlib import Path
from typing import Any

import yaml

LETTERS = string.ascii_lowercase
TINY = {  # a few small layers of the same architecture: the same code runs, ~1 M parameters
    "flow_lm": {"flow": {"depth": 1, "dim": 32},
                "transformer": {"d_model": 64, "hidden_scale": 2, "num_heads": 2, "num_layers": 2},
                "lookup_table": {"dim": 64}},
    "mimi": {"outer_dim": 32,
             "seanet": {"dimension": 32, "n_filters": 4},
             "transformer": {"d_model": 32, "num_heads": 2, "num_layers": 1, "dim_feedforward": 64,
                             "input_dimension": 32, "output_dimensions": [32]},
             "quantizer": {"output_dimension": 32}},
}


def _merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        out[key] = _merged(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


def _pieces(count: int) -> list[str]:
    singles = list(LETTERS + LETTERS.upper() + string.digits + ".,!?'\"-:;() ")
    pieces = ["<unk>", "▁"] + singles + ["▁" + c for c in singles]
    more = itertools.chain((a + b for a, b in itertools.product(LETTERS, repeat=2)),
                           ("▁" + a + b for a, b in itertools.product(LETTERS, repeat=2)),
                           ("".join(t) for t in itertools.product(LETTERS, repeat=3)))
    pieces += itertools.islice(more, max(0, count - len(pieces)))
    return pieces[:count]


def write_tokenizer(path: Path, count: int) -> None:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    vocab = [(piece, -100.0 if piece == "<unk>" else -float(len(piece))) for piece in _pieces(count)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=False))
    tokenizer.normalizer = normalizers.Replace(" ", "▁")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()  # pocket-tts splits long lines and decodes the pieces back to text
    tokenizer.save(str(path))


def make_pocket_model(folder: Path, tiny: bool = True, language: str = "english", seed: int = 0) -> Path:
    """A model folder as `engine models install pocket --from` takes it: model.safetensors, tokenizer.json and
    config.yaml (the package's config, made tiny when asked), with random weights."""
    import safetensors.torch
    import torch

    from plugins.voice.engines.pocket.loading import import_pocket

    import_pocket()
    from pocket_tts.models.mimi import build_mimi
    from pocket_tts.models.tts_model import TTSModel
    from pocket_tts.utils.config import CONFIGS_DIR, Config

    folder.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load((CONFIGS_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    raw = _merged(raw, TINY) if tiny else raw
    for key in ("weights_path", "weights_path_without_voice_cloning"):
        raw.pop(key, None)
    raw["flow_lm"]["lookup_table"].update(tokenizer="tokenizers", tokenizer_path="tokenizer.json")
    (folder / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    write_tokenizer(folder / "tokenizer.json", raw["flow_lm"]["lookup_table"]["n_bins"])
    config = Config(**raw)
    config.flow_lm.lookup_table.tokenizer_path = str(folder / "tokenizer.json")
    torch.manual_seed(seed)
    model = TTSModel._from_pydantic_config(config, 0.3, 1, None, -4.0, None)
    width = config.mimi.inner_dim or config.mimi.seanet.dimension
    model.flow_lm.speaker_proj_weight = torch.nn.Parameter(torch.randn(config.flow_lm.transformer.d_model, width) * 0.02)
    model.mimi = build_mimi(config.mimi)
    weights = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    safetensors.torch.save_file(weights, str(folder / "model.safetensors"))
    return folder
