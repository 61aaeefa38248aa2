"""The one place that decides which engine speaks, and says so when that changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from plugins.voice.engines.base import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    engines: tuple[Engine, ...]  # to try, in order
    skipped: tuple[tuple[str, str], ...]  # (engine, reason) for engines passed over


class Fallback:
    """Keeps which engines are down, re-probes them in the background, announces changes."""

    def __init__(self, engines: Mapping[str, Engine], order: Sequence[str], notify: Callable[[str], None],
                 reprobe_seconds: float) -> None:
        self.engines = dict(engines)
        self.order = list(order)
        self.notify = notify
        self.reprobe_seconds = reprobe_seconds
        self.down: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def plan(self, preferred: str) -> Plan:
        names = [preferred] + [name for name in self.order if name != preferred]
        usable, skipped = [], []
        for name in names:
            engine = self.engines.get(name)
            if engine is None:
                continue
            reason = self.down.get(name) or engine.missing()
            if reason:
                self.mark_down(name, reason)
                skipped.append((name, reason))
            else:
                usable.append(engine)
        return Plan(tuple(usable), tuple(skipped))

    def mark_down(self, name: str, reason: str) -> None:
        with self._lock:
            if name in self.down:
                return
            self.down[name] = reason
            if self._thread is None and self.reprobe_seconds > 0:
                self._thread = threading.Thread(target=self._reprobe, name="voice-reprobe", daemon=True)
                self._thread.start()
        log.info("engine %s down: %s", name, reason)
        self.notify(f"{name} voice unavailable: {reason}. Using the next engine.")

    def _reprobe(self) -> None:
        while not self._stop.wait(self.reprobe_seconds):
            for name in list(self.down):
                if self.engines[name].probe() is None:
                    with self._lock:
                        self.down.pop(name, None)
                    self.notify(f"{name} voice is back.")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
