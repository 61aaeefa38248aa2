"""Keeps the ALSA library's own error lines off the player's terminal.

With no sound card, opening one makes libasound print a dozen lines to stderr (`ALSA lib
confmisc.c:855:(parse_card) cannot find card '0'` ...) before our one-sentence notice says the
same thing. Its error handler is replaced, once per process, by one that says nothing; what
failed still reaches us as the sound library's exception, and becomes our notice.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...):
# a handler that reads none of its arguments may be declared without the variadic tail.
_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
_silent = _HANDLER(lambda *args: None)  # kept alive for the whole process: the library keeps calling it
_lock = threading.Lock()
_done = False


def quiet() -> None:
    """Silences libasound's error printing (no-op where there is no libasound)."""
    global _done
    with _lock:
        if _done:
            return
        _done = True
        name = ctypes.util.find_library("asound")
        if name is None:
            return
        try:
            ctypes.CDLL(name).snd_lib_error_set_handler(_silent)
        except (OSError, AttributeError):
            return
