"""Holds a process after it has made $HOLD_AFTER lines with Piper: the next synthesis waits until the process is
killed. A test kills a render there, at the same point on a fast or a slow machine.
Loaded through `[plugins] modules = ["hold_plugin"]`; it patches Piper when the CLI is built."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from engine import hookimpl

NEVER = threading.Event()


@hookimpl
def engine_register_commands(subparsers: Any) -> None:
    from piper import PiperVoice

    real = PiperVoice.synthesize
    limit = int(os.environ.get("HOLD_AFTER", "0"))
    made = [0]

    def synthesize(self: Any, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if made[0] >= limit:
            NEVER.wait()  # until the process is killed
        made[0] += 1
        yield from real(self, text, *args, **kwargs)

    PiperVoice.synthesize = synthesize  # type: ignore[method-assign]
