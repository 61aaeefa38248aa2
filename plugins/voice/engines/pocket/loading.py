"""Loading an installed Pocket TTS model (pocket-tts, Kyutai): verified files, built without a second copy.

An installed model is a folder (`engine models install pocket --from DIR [--language L]`) holding
`model.safetensors` (the release's weights, flow LM and Mimi codec in one file), its tokenizer
(`tokenizer.json` or SentencePiece's `tokenizer.model`) and `config.yaml` (the package's config for the
language, unless DIR brings its own: the smaller English models). The modules are built on torch's meta
device and take the file's tensors as their own (`assign=True`), so the weights are in memory once.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.voice.core.errors import install_extra
from plugins.voice.core.settings import PocketSettings
from plugins.voice.engines.models import POCKET, ModelError, verify

# Story language -> the package's config for it (the seven languages Pocket TTS speaks).
LANGUAGES = {"en": "english", "fr": "french", "de": "german", "it": "italian", "pt": "portuguese",
             "es": "spanish", "nl": "dutch"}
TOKENIZERS = {"tokenizer.json": "tokenizers", "tokenizer.model": "sentencepiece"}
EXTRA = f"the pocket engine needs the [pocket] extra ({install_extra('pocket')})"
_import_lock = threading.Lock()


@dataclass
class Loaded:
    model: Any  # pocket_tts TTSModel
    digest: str  # the weights' SHA-256 (part of cache keys)
    int8: bool


def language_code(language: str) -> str:
    """The model folder's name for a story language ("en-GB" -> "en"), or "" if Pocket cannot speak it."""
    code = language.lower().split("-")[0]
    return code if code in LANGUAGES else ""


def package_config(code: str) -> Path:
    """The pocket-tts package's own config for a language (installed beside weights that bring none)."""
    if importlib.util.find_spec("pocket_tts") is None:
        raise ModelError(EXTRA)
    return Path(str(importlib.resources.files("pocket_tts"))) / "config" / f"{LANGUAGES[code]}.yaml"


def import_pocket() -> None:
    """Imports pocket_tts, keeping torch's thread count (the package sets it to 1 for the whole process)."""
    import torch

    with _import_lock:
        threads = torch.get_num_threads()
        import pocket_tts  # noqa: F401

        torch.set_num_threads(threads)


def build(settings: PocketSettings, folder: Path) -> Loaded:
    """Verifies and loads the model in `folder`; raises ModelError (or what torch and pocket-tts raise)."""
    files = verify(POCKET, folder)
    tokenizer = next((name for name in TOKENIZERS if name in files), None)
    if tokenizer is None:
        raise ModelError(f"{folder} has no tokenizer (tokenizer.json or tokenizer.model); install the model again.")
    import_pocket()
    import safetensors.torch
    import torch
    from pocket_tts.models.mimi import build_mimi
    from pocket_tts.models.tts_model import TTSModel, stamp_state_names
    from pocket_tts.utils.config import load_config

    if settings.threads:
        torch.set_num_threads(settings.threads)
    config = load_config(folder / "config.yaml")
    config.flow_lm.lookup_table.tokenizer_path = str(folder / tokenizer)
    config.flow_lm.lookup_table.tokenizer = TOKENIZERS[tokenizer]
    with torch.device("meta"):
        model = TTSModel._from_pydantic_config(config, settings.temperature, 1, None, settings.eos_threshold, None)
        width = config.mimi.inner_dim or config.mimi.seanet.dimension
        model.flow_lm.speaker_proj_weight = torch.nn.Parameter(torch.zeros(config.flow_lm.transformer.d_model, width))
        model.mimi = build_mimi(config.mimi)
    weights = safetensors.torch.load_file(folder / "model.safetensors")
    if not any(name.startswith("flow_lm.speaker_proj") for name in weights):
        raise ModelError(f"{folder}/model.safetensors has no voice-cloning weights (it is the release without "
                         "cloning); install the one from kyutai/pocket-tts")
    model.load_state_dict(weights, strict=True, assign=True)
    model.eval()
    stamp_state_names(model)
    if settings.int8:
        from pocket_tts.quantization import apply_dynamic_int8

        apply_dynamic_int8(model.flow_lm, {"attention", "ffn", "flow_net"})
    return Loaded(model, files["model.safetensors"], settings.int8)
