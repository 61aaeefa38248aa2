"""onnxruntime sessions for the engines that run on it here (Piper, Kokoro).

Their threads do not spin while idle (`session.intra_op.allow_spinning` off): during play XTTS, Whisper and the
prefetch thread need the same cores, and a thread spinning between two of its operators takes them.
bench/contention.py measured it on 2 cores (XTTS, Kokoro and Piper at once, real-time factors): with nothing
spinning (this, and OpenMP's passive wait set in plugins/voice/__init__.py) XTTS 10.7 -> 1.35, Kokoro
2.57 -> 1.69, Piper 0.28 -> 0.16; alone, each pays for a thread's wake-up (Kokoro 0.80 -> 0.87-0.98).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CPU = ["CPUExecutionProvider"]


def session(model: Path, threads: int = 0, providers: list[str] | None = None) -> Any:
    """An InferenceSession on `threads` threads (0: onnxruntime's choice, every core) whose threads sleep when idle."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model), sess_options=options, providers=providers or CPU)
