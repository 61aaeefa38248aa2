"""The one place that decides which engine speaks, and says so when that changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from plugins.voice.core.errors import Preempted, SpeechFailure
from plugins.voice.engines.base import Engine

log = logging.getLogger(__name__)
STATIC_RECHECK = 0.5  # seconds
T = TypeVar("T")


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


@dataclass(frozen=True)
class Passed:
    """An engine passed over for a line: unusable before trying (`failure` None) or failed trying."""

    name: str
    reason: str
    failure: SpeechFailure | None = None


@dataclass
class Outcome(Generic[T]):
    """What `Fallback.attempt` found: the engine that did it and its result, or None; who was passed over."""

    engine: Engine | None = None
    result: T | None = None
    passed: list[Passed] = field(default_factory=list)


class Fallback:
    """Keeps which engines are down, re-probes them in the background, announces changes.

    `attempt` and `plan` are called from the speaker and prefetch threads; `mark_down` from those
    and from `refresh` (watcher or speaker thread). The re-probe thread (voice-reprobe) is started
    on the first mark-down and stopped and joined by `close` (the speaker's close)."""

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
            if reason is not None and name in self.static and engine.missing() is None:
                self._back(name)  # e.g. its model finished loading: no need to wait for the re-probe
                reason = None
            if reason is None:
                reason = engine.missing()
                if reason:
                    self.mark_down(name, reason, static=True)
            steps.append(Step(name, None if reason else engine, reason))
        return Plan(tuple(steps))

    def ready(self, name: str) -> bool:
        """Whether this engine is configured and could run now (e.g. XTTS, before seeding its voices)."""
        engine = self.engines.get(name)
        return engine is not None and name not in self.down and engine.missing() is None

    def attempt(self, preferred: str, work: Callable[[Engine], T]) -> Outcome[T]:
        """Runs `work` with each usable engine in order until one succeeds. The single copy of the
        fallback loop (speaker, prefetch and `engine say` all use it) and of the policy: a failure
        whose `down` is set takes the engine out of use; others pass just this line on.
        Preempted is not a failure of the engine: it goes to the caller, who tries again later."""
        outcome: Outcome[T] = Outcome()
        for step in self.plan(preferred).steps:
            if step.engine is None:
                outcome.passed.append(Passed(step.name, step.reason or "unavailable"))
                continue
            try:
                outcome.result = work(step.engine)
            except Preempted:
                raise
            except SpeechFailure as exc:
                if exc.down:
                    self.mark_down(step.name, exc.reason)
                outcome.passed.append(Passed(step.name, exc.reason, exc))
                continue
            outcome.engine = step.engine
            return outcome
        return outcome

    def mark_down(self, name: str, reason: str, static: bool = False) -> None:
        with self._lock:
            if name in self.down:
                return
            self.down[name] = reason
            if static:
                self.static.add(name)
            if self._thread is None and self.reprobe_seconds > 0 and not self._stop.is_set():
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
                if name in self.static or probe_now:
                    if self._healthy(name, static=name in self.static):
                        self._back(name)

    def _healthy(self, name: str, static: bool) -> bool:
        """One re-check (re-probe thread). A probe that raises means "still down", never the end of the thread."""
        engine = self.engines[name]
        try:
            return (engine.missing() if static else engine.probe()) is None
        except SpeechFailure:
            return False
        except Exception:  # a bug in a probe: logged; the engine stays down, the others are still re-probed
            log.exception("re-probing %s failed", name)
            return False

    def _back(self, name: str) -> None:
        with self._lock:
            if self.down.pop(name, None) is None:
                return  # another thread saw it first
            self.static.discard(name)
        self.notify(f"{name} voice is ready.")

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()  # a probe in flight ends within its engine's own timeouts
