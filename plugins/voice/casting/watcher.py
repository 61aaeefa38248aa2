"""Watches voices/ (watchdog) and reports reference WAVs and voice_map.json once they are complete.

A file counts as complete when its size and modification time have not changed for
`settle_seconds` (a slow copy keeps changing; a rename into place is complete at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from plugins.voice.casting.cast import VOICE_MAP

log = logging.getLogger(__name__)


class VoicesWatcher(FileSystemEventHandler):
    def __init__(self, folder: Path, on_change: Callable[[Path], None], settle_seconds: float = 0.4) -> None:
        self.folder = folder
        self.on_change = on_change
        self.settle_seconds = settle_seconds
        self.pending: dict[Path, tuple[float, tuple[int, int] | None]] = {}
        self.reported: dict[Path, tuple[int, int] | None] = {}  # the state last reported, to skip repeats
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.observer = Observer()
        self.thread = threading.Thread(target=self._settle, name="voices-watch", daemon=True)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.observer.schedule(self, str(self.folder), recursive=False)
        self.observer.start()
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.observer.is_alive():
            self.observer.stop()
            self.observer.join()
        if self.thread.ident is not None:
            self.thread.join()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading a file (as we do to check it) changes nothing
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(str(raw))
            if path.parent == self.folder and (path.suffix.lower() == ".wav" or path.name == VOICE_MAP):
                with self.lock:
                    self.pending[path] = (time.monotonic(), _stamp(path))

    def _settle(self) -> None:
        while not self.stopped.wait(self.settle_seconds / 4):
            ready = []
            with self.lock:
                for path, (seen, stamp) in list(self.pending.items()):
                    now = _stamp(path)
                    if now != stamp:
                        self.pending[path] = (time.monotonic(), now)  # still being written
                    elif time.monotonic() - seen >= self.settle_seconds:
                        del self.pending[path]
                        if self.reported.get(path, "never") != now:
                            self.reported[path] = now
                            ready.append(path)
            for path in ready:
                try:
                    self.on_change(path)
                except Exception:  # a bad file must never stop the game
                    log.exception("handling a change to %s failed", path)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None  # deleted (or the folder is gone)
    return stat.st_size, stat.st_mtime_ns
