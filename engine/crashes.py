"""A bug in any thread goes to the log with its traceback, and to the player as one sentence.

The CLI installs the hook for the whole process (`install`); while a story is played its
sentences go through the terminal's notices (`telling`), so they never land inside a menu.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

log = logging.getLogger("engine")
_state: dict[str, object] = {"log": None, "tell": None}


def install(log_path: Path) -> None:
    """Every thread's uncaught exception: logged with its traceback, told in one sentence."""
    _state["log"] = log_path
    threading.excepthook = _thread_failed


@contextlib.contextmanager
def telling(tell: Callable[[str], None]) -> Iterator[None]:
    """While a story is played, the sentence goes to the player as a notice."""
    _state["tell"] = tell
    try:
        yield
    finally:
        _state["tell"] = None


def sentence(what: str, exc: BaseException) -> str:
    return f"{what} failed: {type(exc).__name__}: {exc} (the log has the details: {_state['log']})"


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    log.error("thread %s failed", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
    text = sentence(f"A background task ({name})", args.exc_value) + "; the story goes on."
    tell = _state["tell"]
    if callable(tell):
        tell(text)
    else:
        print(f"engine: {text}", file=sys.stderr)


def exit_now(code: int) -> None:
    """At the very end of a command: if a thread was left running on purpose (XTTS still loading when the
    game ends is not waited for), exit without Python's finalization, which would tear down native libraries
    under that thread ("terminate called without an active exception", exit -6). atexit handlers still run
    and the output is flushed; everything of ours was closed and joined before this."""
    left = [t.name for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    if not left:
        return
    import atexit
    import os

    logging.getLogger("engine").info("exiting with threads left running: %s", ", ".join(left))
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
