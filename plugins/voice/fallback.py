"""The one place that decides which engine speaks, and says so when that changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from plugins.voice.engines.base import Engine

log = logging.getLogger(__name__)
STATIC_RECHECK = 0.5  # seconds


@dataclass(frozen=True)
class Step:
    """One engine in the order of trying: usable (`engine` set) or passed over (`reason` set)."""

    name: str
    engine: Engine | None
    reason: str | None = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    @property
    def engines(self) -> tuple[Engine, ...]:
        return tuple(step.engine for step in self.steps if step.engine is not None)


class Fallback:
    """Keeps which engines are down, re-probes them in the background, announces changes."""

    def __init__(self, engines: Mapping[str, Engine], order: Sequence[str], notify: Callable[[str], None],
                 reprobe_seconds: float) -> None:
        self.engines = dict(engines)
        self.order = list(order)
        self.notify = notify
        self.reprobe_seconds = reprobe_seconds
        self.down: dict[str, str] = {}
        self.static: set[str] = set()  # down for a reason missing() reports (cheap to re-check)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def plan(self, preferred: str) -> Plan:
        names = [preferred] + [name for name in self.order if name != preferred]
        steps = []
        for name in names:
            engine = self.engines.get(name)
            if engine is None:
                continue
            reason = self.down.get(name)
            if reason is None:
                reason = engine.missing()
                if reason:
                    self.mark_down(name, reason, static=True)
            steps.append(Step(name, None if reason else engine, reason))
        return Plan(tuple(steps))

    def mark_down(self, name: str, reason: str, static: bool = False) -> None:
        with self._lock:
            if name in self.down:
                return
            self.down[name] = reason
            if static:
                self.static.add(name)
            if self._thread is None and self.reprobe_seconds > 0:
                self._thread = threading.Thread(target=self._reprobe, name="voice-reprobe", daemon=True)
                self._thread.start()
        log.info("engine %s down: %s", name, reason)
        self.notify(f"{name} voice unavailable: {reason}. Using the next engine.")

    def _reprobe(self) -> None:
        """Static reasons (not installed, model loading) are re-checked twice a second;
        failures (offline, refused, crashed) are probed every `reprobe_seconds`."""
        last_probe = time.monotonic()
        while not self._stop.wait(min(STATIC_RECHECK, self.reprobe_seconds)):
            probe_now = time.monotonic() - last_probe >= self.reprobe_seconds
            if probe_now:
                last_probe = time.monotonic()
            for name in list(self.down):
                engine = self.engines[name]
                if name in self.static:
                    back = engine.missing() is None
                elif probe_now:
                    back = engine.probe() is None
                else:
                    continue
                if back:
                    with self._lock:
                        self.down.pop(name, None)
                        self.static.discard(name)
                    self.notify(f"{name} voice is ready.")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)  # a network probe in flight may take longer: it is a daemon
