"""The XTTS GPT's transformer on ONNX Runtime with 4-bit weights (`[voice.xtts] cpu_quantize = "int4"`).

On a CPU each audio token reads every GPT weight once, so a token costs what memory can deliver:
torch's dynamic int8 reads ~380 MB a token, 4-bit weights half that. ONNX Runtime's `MatMulNBits`
(4-bit weights in blocks of 32 with a scale each, products computed in int8 with
`accuracy_level` 4) made the GPT's 120 multiplies 1.7-2.2x faster than torch.ao's int8 on 2 cores
(bench/xtts_kernels_ort.py). The graph is built here from the loaded model's own weights (GPT-2
blocks: layer norm, attention, tanh-GELU MLP; XTTS adds no position embedding inside them). Its
attention is `GroupQueryAttention` with as many key/value heads as heads (plain multi-head
attention), reading and writing a key/value buffer sized for the whole line once, so no step
copies the cache. Embeddings, the final norm and the audio head stay in torch. A line starts with its
voice's conditioning latents (32 positions, the same for every line in that voice, and before the text,
so causal attention keeps them independent of it): their keys and values are made once per voice and
copied into each new line, which then runs only its text (about half a line's prefix).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from engine import write_atomic
from plugins.voice.core.errors import install_extra

log = logging.getLogger(__name__)

BLOCK = 32  # weights per 4-bit scale (blocks of 128: 20% faster multiplies, 20% more error)
ACCURACY = 4  # MatMulNBits computes in int8 (accuracy_level 4): the fastest kernel on x86
VOICES = 8  # voices whose conditioning keys and values are kept (~8 MB each at full size)
GRAPH = f"int4-b{BLOCK}-a{ACCURACY}-v1"  # what a kept graph was built as (part of its file name): change v1 with Graph


def missing() -> str | None:
    """Why the int4 path cannot run here, or None (nothing is imported)."""
    import importlib.util

    for package in ("onnx", "onnxruntime"):
        try:
            found = importlib.util.find_spec(package) is not None
        except ValueError:  # a module set to None in sys.modules (how a test hides one)
            found = False
        if not found:
            return f"cpu_quantize = \"int4\" needs the {package} package: {install_extra('xtts')}"
    return None


def pack4(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A [K, N] float32 weight as MatMulNBits' blocks: uint8 [N, K/BLOCK, BLOCK/2] and scales [N * K/BLOCK]."""
    from onnxruntime.capi._pybind_state import quantize_matmul_4bits

    rows, cols = weight.shape
    blocks = -(-rows // BLOCK)
    packed = np.zeros((cols, blocks, BLOCK // 2), dtype=np.uint8)
    scales = np.zeros(cols * blocks, dtype=np.float32)
    zero_points = np.zeros(cols * ((blocks + 1) // 2), dtype=np.uint8)
    quantize_matmul_4bits(packed, np.ascontiguousarray(weight, dtype=np.float32), scales, zero_points, BLOCK,
                          cols, rows, True)
    return packed, scales


class Graph:
    """Builds the ONNX graph: inputs_embeds [1, S, C] -> hidden [1, S, C] after the final layer norm."""

    def __init__(self, transformer: Any, bits: int | None) -> None:
        self.transformer = transformer
        self.bits = bits  # 4, or None for fp32 weights (the fidelity tests' reference)
        config = transformer.config
        self.width, self.heads, self.eps = config.n_embd, config.n_head, config.layer_norm_epsilon
        self.nodes: list[Any] = []
        self.weights: list[Any] = []

    def tensor(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        array = value.detach().float().cpu().numpy() if hasattr(value, "detach") else value
        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attributes))
        return output

    def norm(self, x: str, norm: Any, name: str) -> str:
        return self.node("LayerNormalization", [x, self.tensor(f"{name}.w", norm.weight),
                                                self.tensor(f"{name}.b", norm.bias)], name, epsilon=self.eps)

    def linear(self, x: str, conv: Any, name: str) -> str:
        """transformers' Conv1D: y = x @ W + b, W [in, out]."""
        weight = conv.weight.detach().float()
        rows, cols = weight.shape
        if self.bits is None:
            y = self.node("MatMul", [x, self.tensor(f"{name}.w", weight)], f"{name}.mm")
        else:
            packed, scales = pack4(weight.numpy())
            y = self.node("MatMulNBits", [x, self.tensor(f"{name}.q", packed), self.tensor(f"{name}.s", scales)],
                          f"{name}.mm", domain="com.microsoft", K=rows, N=cols, bits=4, block_size=BLOCK,
                          accuracy_level=ACCURACY)
        return self.node("Add", [y, self.tensor(f"{name}.b", conv.bias)], name)

    def block(self, x: str, block: Any, n: int) -> str:
        qkv = self.linear(self.norm(x, block.ln_1, f"b{n}.ln1"), block.attn.c_attn, f"b{n}.qkv")
        self.nodes.append(_attention(qkv, n, self.heads))
        x = self.node("Add", [x, self.linear(f"b{n}.att", block.attn.c_proj, f"b{n}.proj")], f"b{n}.h")
        up = self.linear(self.norm(x, block.ln_2, f"b{n}.ln2"), block.mlp.c_fc, f"b{n}.fc")
        act = self.node("Gelu", [up], f"b{n}.gelu", approximate="tanh")
        return self.node("Add", [x, self.linear(act, block.mlp.c_proj, f"b{n}.down")], f"b{n}.out")

    def build(self) -> Any:
        from onnx import TensorProto, helper

        x = "inputs_embeds"
        for n, block in enumerate(self.transformer.h):
            x = self.block(x, block, n)
        self.norm(x, self.transformer.ln_f, "hidden")
        floats, ints = TensorProto.FLOAT, TensorProto.INT32
        head = self.width // self.heads
        cache = ["batch", self.heads, "capacity", head]
        inputs = [helper.make_tensor_value_info("inputs_embeds", floats, [1, "steps", self.width]),
                  helper.make_tensor_value_info("seqlens_k", ints, [1]),
                  helper.make_tensor_value_info("total_sequence_length", ints, [])]
        outputs = [helper.make_tensor_value_info("hidden", floats, [1, "steps", self.width])]
        for n in range(len(self.transformer.h)):
            inputs += [helper.make_tensor_value_info(f"past_{kv}{n}", floats, cache) for kv in "kv"]
            outputs += [helper.make_tensor_value_info(f"present_{kv}{n}", floats, cache) for kv in "kv"]
        graph = helper.make_graph(self.nodes, "xtts_gpt", inputs, outputs, self.weights)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                       helper.make_opsetid("com.microsoft", 1)])


def _attention(qkv: str, n: int, heads: int) -> Any:
    from onnx import helper

    return helper.make_node("GroupQueryAttention", [qkv, "", "", f"past_k{n}", f"past_v{n}", "seqlens_k",
                                                    "total_sequence_length"],
                            [f"b{n}.att", f"present_k{n}", f"present_v{n}"], name=f"b{n}.gqa",
                            domain="com.microsoft", num_heads=heads, kv_num_heads=heads)


class OnnxGpt:
    """One session per loaded model; a `Cache` per line (each line its own keys and values). With `saved`, the
    4-bit graph is read from that file when it is there (a later start: 3 s and 1.5 GB of reading and packing
    weights saved), else built and written there, atomically."""

    def __init__(self, transformer: Any, threads: int, bits: int | None = 4, saved: Path | None = None) -> None:
        import onnxruntime

        self.layers = len(transformer.h)
        self.heads, self.width = transformer.config.n_head, transformer.config.n_embd
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        kept = self._kept(saved, options) if saved is not None and bits == 4 else None
        if kept is None:
            graph = Graph(transformer, bits).build().SerializeToString()
            if saved is not None and bits == 4:
                write_atomic(saved, graph)
            kept = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.session: Any = kept
        # conditioning's keys and values by voice, least recently used first; only the model's owner thread
        # runs lines, so nothing else touches it
        self.voices: OrderedDict[bytes, list[np.ndarray]] = OrderedDict()

    @staticmethod
    def _kept(saved: Path, options: Any) -> Any:
        """A session from the kept graph, or None (none kept, or damaged: it is built again)."""
        import onnxruntime

        if not saved.is_file():
            return None
        try:
            return onnxruntime.InferenceSession(str(saved), options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - ONNX Runtime raises its own kinds for a truncated or foreign file
            log.warning("the kept XTTS graph %s cannot be read; building it again", saved.name)
            return None

    def cache(self, capacity: int) -> Cache:
        return Cache(self, capacity)

    def voice(self, key: bytes) -> list[np.ndarray] | None:
        stored = self.voices.get(key)
        if stored is not None:
            self.voices.move_to_end(key)
        return stored

    def remember(self, key: bytes, stored: list[np.ndarray]) -> None:
        self.voices[key] = stored
        while len(self.voices) > VOICES:
            self.voices.popitem(last=False)


class Cache:
    """One line's keys and values: `run` takes the next positions' embeddings, returns their hidden states."""

    def __init__(self, gpt: OnnxGpt, capacity: int) -> None:
        import onnxruntime

        self.gpt, self.capacity, self.length = gpt, capacity, 0
        shape = (1, gpt.heads, capacity, gpt.width // gpt.heads)
        self.binding = gpt.session.io_binding()
        self.binding.bind_output("hidden")  # first: get_outputs() lists outputs in the order they were bound
        self.arrays = []  # past and present share one buffer per layer: nothing is copied between steps
        for n in range(gpt.layers):
            for kv in "kv":
                self.arrays.append(np.zeros(shape, dtype=np.float32))
                value = onnxruntime.OrtValue.ortvalue_from_numpy(self.arrays[-1])  # the same memory
                self.binding.bind_ortvalue_input(f"past_{kv}{n}", value)
                self.binding.bind_ortvalue_output(f"present_{kv}{n}", value)

    def start(self, embeds: np.ndarray, shared: int) -> np.ndarray:
        """The line's first positions, of which the first `shared` (its voice's conditioning) are made once a
        voice; returns the hidden states of the others."""
        key = hashlib.sha1(embeds[:, :shared].tobytes()).digest()
        stored = self.gpt.voice(key)
        if stored is None:
            self.run(embeds[:, :shared])
            self.gpt.remember(key, [array[:, :, :shared].copy() for array in self.arrays])
        else:
            for array, part in zip(self.arrays, stored, strict=True):
                array[:, :, :shared] = part
            self.length = shared
        return self.run(embeds[:, shared:])

    def run(self, embeds: np.ndarray) -> np.ndarray:
        steps = embeds.shape[1]
        if self.length + steps > self.capacity:
            raise ValueError(f"the line needs more than {self.capacity} positions")
        total = self.length + steps
        self.binding.bind_cpu_input("inputs_embeds", np.ascontiguousarray(embeds, dtype=np.float32))
        self.binding.bind_cpu_input("seqlens_k", np.array([total - 1], dtype=np.int32))
        self.binding.bind_cpu_input("total_sequence_length", np.array(total, dtype=np.int32))
        self.binding.bind_output("hidden")  # unallocated again: its shape follows the steps
        self.gpt.session.run_with_iobinding(self.binding)
        self.length = total
        return self.binding.get_outputs()[0].numpy()  # the hidden state only: the caches stay where they are


class OnnxSteps:
    """stream.tokens' steps on ONNX Runtime: the embeddings in torch, as GPT2InferenceModel makes them."""

    def __init__(self, model: Any, gpt: OnnxGpt, capacity: int, conditioning: int) -> None:
        self.inference = model.gpt.gpt_inference
        self.head = self.inference.lm_head  # the final norm, then the audio head (int8 when quantized)
        self.cache = gpt.cache(capacity)
        self.conditioning = conditioning  # the prefix's first positions: the voice's conditioning latents
        self.made = 0  # audio tokens fed so far (their position embedding's index)

    def run(self, step: Any) -> tuple[Any, Any]:
        import torch

        inference = self.inference
        if self.made == 0:  # the prefix (conditioning and text), then the start audio token
            start = inference.embeddings(step[:, -1:])
            embeds = torch.cat([inference.cached_prefix_emb, start + inference.pos_embedding(start)], dim=1)
            out = self.cache.start(embeds.float().numpy(), self.conditioning)
        else:
            embeds = inference.embeddings(step) + inference.pos_embedding.get_fixed_embedding(self.made, step.device)
            out = self.cache.run(embeds.float().numpy())
        self.made += 1
        hidden = torch.from_numpy(out[:, -1])
        latent = self.head[0](hidden)
        return latent, self.head[1](latent)
