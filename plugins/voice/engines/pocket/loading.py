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
import json
import logging
import threading
import warnings
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
    logging.getLogger("pocket_tts").setLevel(logging.ERROR)  # its per-line info and warnings would land in the story


def build(settings: PocketSettings, folder: Path) -> Loaded:
    """Verifies and loads the model in `folder`; raises ModelError (or what torch and pocket-tts raise)."""
    files = verify(POCKET, folder)
    tokenizer = next((name for name in TOKENIZERS if name in files), None)
    if tokenizer is None:
        raise ModelError(f"{folder} has no tokenizer (tokenizer.json or tokenizer.model); install the model again.")
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    model = model_on_meta(folder / "config.yaml", folder / tokenizer, settings)
    take_weights(model, folder / "model.safetensors", settings.int8)
    model.eval()
    from pocket_tts.models.tts_model import stamp_state_names

    stamp_state_names(model)
    return Loaded(model, files["model.safetensors"], settings.int8)


def model_on_meta(config_path: Path, tokenizer: Path, settings: PocketSettings) -> Any:
    """The model its config describes, built on torch's meta device (no memory for weights yet)."""
    import_pocket()
    import torch
    from pocket_tts.models.mimi import build_mimi
    from pocket_tts.models.tts_model import TTSModel
    from pocket_tts.utils.config import load_config

    try:
        config = load_config(config_path)
    except (ValueError, OSError) as exc:  # pydantic's ValidationError is a ValueError
        raise ModelError(f"{config_path} is not a Pocket TTS config: {str(exc).splitlines()[0]}") from None
    config.flow_lm.lookup_table.tokenizer_path = str(tokenizer)
    config.flow_lm.lookup_table.tokenizer = TOKENIZERS[tokenizer.name]
    with torch.device("meta"):
        try:
            model = TTSModel._from_pydantic_config(config, settings.temperature, 1, None, settings.eos_threshold, None)
        except AssertionError as exc:  # the tokenizer's size is not the config's
            raise ModelError(f"{tokenizer.name} does not fit {config_path.name}: {exc}") from None
        width = config.mimi.inner_dim or config.mimi.seanet.dimension
        model.flow_lm.speaker_proj_weight = torch.nn.Parameter(torch.zeros(config.flow_lm.transformer.d_model, width))
        model.mimi = build_mimi(config.mimi)
    return model


def check_fits(config_path: Path, tokenizer: Path, weights: Path) -> None:
    """ModelError unless the weights file holds exactly the tensors, in the shapes, that the config describes."""
    with TensorFile(weights) as stored:
        check_tensors(model_on_meta(config_path, tokenizer, PocketSettings()), stored, config_path.name)


def check_tensors(model: Any, stored: TensorFile, config: str) -> None:
    """ModelError unless `stored` holds the cloning weights and exactly the model's tensors, in its shapes."""
    expected = {name: list(tensor.shape) for name, tensor in model.state_dict().items()}
    found = {name: list(stored.header[name]["shape"]) for name in stored.names}
    if "flow_lm.speaker_proj_weight" not in found:
        raise ModelError(f"{stored.path} has no voice-cloning weights (it is the release without cloning); install "
                         "the one from kyutai/pocket-tts")
    wrong = sorted(name for name in expected.keys() | found.keys() if expected.get(name) != found.get(name))
    if wrong:
        raise ModelError(f"{stored.path.name} does not fit {config} ({len(wrong)} tensors differ, e.g. {wrong[0]}); "
                         "is it the model of another language or size?")


def take_weights(model: Any, path: Path, int8: bool) -> None:
    """Gives the meta-built model the file's tensors, one layer of the flow LM at a time; with `int8`, each layer's
    linear weights are quantized as soon as they are read, so the fp32 copies of at most one layer are in memory
    at once (the whole fp32 flow LM first and quantized after peaked 550 MB higher)."""

    with TensorFile(path) as weights:
        check_tensors(model, weights, "its config.yaml")
        names = set(weights.names)

        def take(module: Any, prefix: str) -> None:
            own = sorted(name for name in names if name.startswith(prefix))
            module.load_state_dict({name[len(prefix):]: weights.get_tensor(name) for name in own}, assign=True)
            names.difference_update(own)

        layers = model.flow_lm.transformer.layers
        rest = {name for name in names if not name.startswith(("flow_lm.transformer.layers.", "flow_lm.flow_net."))}
        model.load_state_dict({name: weights.get_tensor(name) for name in rest}, strict=False, assign=True)
        names -= rest
        for index, layer in enumerate(layers):
            take(layer, f"flow_lm.transformer.layers.{index}.")
            if int8:
                to_int8(layer)
        take(model.flow_lm.flow_net, "flow_lm.flow_net.")
        if int8:
            to_int8(model.flow_lm.flow_net)


def to_int8(module: Any) -> None:
    """The module's linear layers in int8, in place (torch's dynamic quantization: in a flow LM layer its attention's
    and feed-forward's, what pocket-tts's `quantize=True` does with torch 2.9; torchao's replaces it from 2.10)."""
    import torch

    warnings.filterwarnings("ignore", "torch.ao.quantization is deprecated", DeprecationWarning)
    if torch.backends.quantized.engine == "none":
        torch.backends.quantized.engine = "fbgemm"
    torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


class TensorFile:
    """Reads a .safetensors file one tensor at a time into memory of its own (safetensors' `safe_open` maps the
    whole file, and every page read stays resident for as long as any tensor of it lives). The format: an 8-byte
    little-endian header length, a JSON header (name -> dtype, shape, byte offsets after the header), the data."""

    DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32", "U8": "uint8"}

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("rb")
        try:
            size = int.from_bytes(self.handle.read(8), "little")
            header = json.loads(self.handle.read(size))
        except (ValueError, UnicodeDecodeError, MemoryError, OverflowError):
            self.handle.close()
            raise ModelError(f"{path} is not a safetensors file (its header cannot be read)") from None
        header.pop("__metadata__", None)
        self.start = 8 + size
        self.header: dict[str, Any] = header
        self.names = list(header)

    def get_tensor(self, name: str) -> Any:
        import torch

        entry = self.header[name]
        dtype = getattr(torch, self.DTYPES.get(entry["dtype"], ""), None)
        begin, end = entry["data_offsets"]
        if dtype is None:
            raise ModelError(f"{self.path}: tensor {name} has a type we do not read ({entry['dtype']})")
        tensor = torch.empty(entry["shape"], dtype=dtype)
        view = memoryview(tensor.view(torch.uint8).numpy()) if tensor.numel() else memoryview(b"")
        if view.nbytes != end - begin:
            raise ModelError(f"{self.path}: tensor {name} has {end - begin} bytes for shape {entry['shape']}")
        self.handle.seek(self.start + begin)
        if self.handle.readinto(view) != view.nbytes:
            raise ModelError(f"{self.path} is truncated (tensor {name} ends past the file's end)")
        return tensor

    def __enter__(self) -> TensorFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
