"""The XTTS GPT's matrix multiplies for one audio token on ONNX Runtime's CPU kernels, against ours.

    .venv/bin/python -m pip install --target /tmp/onnxpkg onnx onnx_ir   # not project dependencies
    ONNX_PATH=/tmp/onnxpkg .venv/bin/python bench/xtts_kernels_ort.py [--threads 2]

onnxruntime comes with piper-tts; building and quantizing a graph needs `onnx` and `onnx_ir`, which the
project does not depend on (so this bench is not in `make bench`). The 120 multiplies of one token (30
blocks: qkv 1024->3072, of which 1024 go on, then 1024->1024, 1024->4096, 4096->1024; attention not timed)
run as one graph: fp32, dynamic int8 (`quantize_dynamic`), and 4-bit `MatMulNBits` (symmetric blocks; with
accuracy_level 4 the products are computed in int8). The same chain in torch: fp32 and torch.ao's dynamic
int8 (our `cpu_quantize = "int8"`). Error: the first qkv multiply alone against fp32, relative.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the repository's packages

from bench.xtts_kernels import BLOCKS, WIDTH, per_token_ms  # noqa: E402

SHAPES = [(WIDTH, 3 * WIDTH), (WIDTH, WIDTH), (WIDTH, 4 * WIDTH), (4 * WIDTH, WIDTH)]  # (in, out)


def graph(weights: list[np.ndarray], first_only: bool = False) -> Any:
    """The token's chain of multiplies as an ONNX model (or only its first multiply)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, constants, x = [], [numpy_helper.from_array(np.array(v, dtype=np.int64), n)
                               for n, v in (("start", [0]), ("end", [WIDTH]), ("axis", [1]))], "x"
    for n, weight in enumerate(weights[:1] if first_only else weights):
        constants.append(numpy_helper.from_array(weight, f"w{n}"))
        nodes.append(helper.make_node("MatMul", [x, f"w{n}"], [f"h{n}"]))
        x = f"h{n}"
        if n % 4 == 0 and not first_only:  # qkv: 1024 of its 3072 go on
            nodes.append(helper.make_node("Slice", [x, "start", "end", "axis"], [f"{x}s"]))
            x = f"{x}s"
    width = weights[0].shape[1] if first_only else WIDTH
    body = helper.make_graph(nodes, "gpt_token", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])],
                             [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, width])], constants)
    return helper.make_model(body, opset_imports=[helper.make_opsetid("", 17)])


def session(model: Any, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def ort_rows(weights: list[np.ndarray], x: np.ndarray, threads: int) -> dict[str, tuple[float, float]]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    exact = x @ weights[0]
    folder = Path(tempfile.mkdtemp())
    rows: dict[str, tuple[float, float]] = {}

    def row(name: str, whole: Any, first: Any) -> None:
        run = session(whole, threads)
        out = session(first, threads).run(None, {"x": x})[0]
        rows[name] = (per_token_ms(lambda: run.run(None, {"x": x})),
                      float(np.linalg.norm(out - exact) / np.linalg.norm(exact)))

    models = {"whole": graph(weights), "first": graph(weights, first_only=True)}
    row("ORT fp32", models["whole"], models["first"])
    int8 = {}
    for part, model in models.items():
        onnx.save(model, folder / f"{part}.onnx")
        quantize_dynamic(folder / f"{part}.onnx", folder / f"{part}8.onnx", weight_type=QuantType.QInt8)
        int8[part] = onnx.load(folder / f"{part}8.onnx")
    row("ORT dynamic int8", int8["whole"], int8["first"])
    for block, level in ((32, 4), (128, 4), (32, 0)):
        packed = {}
        for part, model in models.items():
            copy = onnx.load_from_string(model.SerializeToString())  # the quantizer rewrites the model it is given
            quantizer = MatMulNBitsQuantizer(copy, block_size=block, is_symmetric=True, accuracy_level=level)
            quantizer.process()
            packed[part] = quantizer.model.model
        row(f"ORT MatMulNBits 4-bit, blocks of {block}, accuracy_level {level}", packed["whole"], packed["first"])
    return rows


def torch_rows(weights: list[np.ndarray], x: np.ndarray) -> dict[str, tuple[float, float]]:
    import torch

    layers = []
    for weight in weights:
        linear = torch.nn.Linear(*weight.shape, bias=False)
        linear.weight.data = torch.from_numpy(weight.T.copy())
        layers.append(linear)
    with warnings.catch_warnings():  # torch.ao's dynamic quantization is marked for migration to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        dynamic = [torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear), {torch.nn.Linear},
                                                          dtype=torch.qint8) for linear in layers]
    row = torch.from_numpy(x)
    exact = x @ weights[0]

    def chain(modules: list[Any]) -> object:
        h = row
        for n, module in enumerate(modules):
            h = module(h)[:, :WIDTH] if n % 4 == 0 else module(h)
        return h

    rows = {}
    with torch.no_grad():
        for name, modules in (("torch fp32", layers), ("torch.ao dynamic int8 (ours)", dynamic)):
            out = modules[0](row).numpy()
            rows[name] = (per_token_ms(functools.partial(chain, modules)),
                          float(np.linalg.norm(out - exact) / np.linalg.norm(exact)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if os.environ.get("ONNX_PATH"):
        sys.path.append(os.environ["ONNX_PATH"])  # after the project's packages: its numpy stays
    import onnxruntime
    import torch

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal(shape) * 0.02).astype(np.float32) for _ in range(BLOCKS) for shape in SHAPES]
    x = rng.standard_normal((1, WIDTH)).astype(np.float32)
    rows = {**ort_rows(weights, x, args.threads), **torch_rows(weights, x)}
    ours = rows["torch.ao dynamic int8 (ours)"][0]
    print(f"{args.threads} threads, onnxruntime {onnxruntime.__version__}, torch {torch.__version__}\n")
    print("| kernel | ms per token | vs ours (torch.ao int8) | error vs fp32 (first qkv multiply) |")
    print("|---|---|---|---|")
    for name, (ms, error) in rows.items():
        print(f"| {name} | {ms:.1f} | {ours / ms:.2f}x | {error:.4f} |")


if __name__ == "__main__":
    main()
