"""The soak's faults from outside the game: a bridge process it kills and freezes, and the Chaos
thread that breaks things at random moments from a fixed seed (seconds, or lines of the game)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

@dataclass
class Bridge:
    """`engine bridge serve` in its own process, which the chaos kills and starts again."""

    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "engine", "bridge", "serve", "--insecure-no-token",
                                             "--config", str(self.config)], stdout=log, stderr=log, cwd=ROOT)

    def freeze(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


@dataclass
class LineClock:
    """Counts the game's voice records as its trace grows (read from where it was left)."""

    trace: Path
    lines: int = 0
    offset: int = 0

    def count(self) -> int:
        try:
            with self.trace.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return self.lines
        whole = data[: data.rfind(b"\n") + 1]
        self.offset += len(whole)
        self.lines += whole.count(b'"event": "voice"')
        return self.lines


@dataclass
class Chaos:
    """Faults from outside the game, at random moments from a fixed seed (one thread, joined by stop()).
    Their moments and lengths are seconds, or, with `per_second` and a `clock`, as many lines as the game
    speaks in that time at that pace (the suite's schedule: the same faults on a fast or a slow machine)."""

    work: Path
    bridge: Bridge
    edge: Any
    seed: int
    clock: LineClock | None = None
    per_second: float = 1.0  # lines the clock counts for a second of the schedule
    counts: dict[str, int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    events: list[dict[str, Any]] = field(default_factory=list)  # {"fault", "from", "to"} in Unix time

    def wait(self, rng: random.Random, low: float, high: float) -> bool:
        """Waits a random while (seconds, or lines); True if the soak is stopping."""
        span = rng.uniform(low, high)
        if self.clock is None:
            return self.stopping.wait(span)
        target = self.clock.count() + max(1, round(span * self.per_second))
        while self.clock.count() < target:
            if self.stopping.wait(0.05):
                return True
        return self.stopping.is_set()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="soak-chaos")
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        rng = random.Random(self.seed)
        actions: dict[str, Callable[[random.Random], object]] = {
            "kill_bridge": self.kill_bridge, "edge_fault": self.edge_fault, "corrupt_cache": self.corrupt_cache,
            "replace_reference": self.replace_reference, "break_reference": self.break_reference,
            "edit_voice_map": self.edit_voice_map}
        while not self.wait(rng, 2.0, 5.0):
            name = rng.choice(list(actions))
            begun = time.time()
            try:
                detail = actions[name](rng)
            except OSError:
                continue  # e.g. a cache entry evicted meanwhile
            self.counts[name] = self.counts.get(name, 0) + 1
            self.events.append({"fault": f"{name} ({detail})" if detail else name, "from": begun, "to": time.time()})

    def kill_bridge(self, rng: random.Random) -> str:
        """Killed at once, or frozen first (SIGSTOP: its connections stay up and silent, like a hung GPU box)."""
        how = rng.choice(["kill", "freeze"])
        if how == "freeze":
            self.bridge.freeze()
            self.wait(rng, 2.0, 6.0)
        self.bridge.kill()
        if not self.wait(rng, 1.0, 4.0):
            self.bridge.start()
            self.bridge.restarts += 1
        return str(how)

    def edge_fault(self, rng: random.Random) -> str:
        self.edge.mode = mode = rng.choice(["403", "disconnect", "silent", "stall"])
        self.wait(rng, 2.0, 6.0)
        self.edge.mode = "ok"
        return str(mode)

    def corrupt_cache(self, rng: random.Random) -> None:
        entries = sorted((self.work / "cache").glob("??/*.wav"))
        if entries:
            victim = rng.choice(entries)
            data = bytearray(victim.read_bytes())
            data[len(data) // 2] ^= 0xFF
            victim.write_bytes(bytes(data))

    def replace_reference(self, rng: random.Random) -> None:
        who = rng.choice(["guide", "keeper", "oracle"])
        spare = rng.choice(sorted((self.work / "spares").glob("*.wav")))
        shutil.copy(spare, self.work / "voices" / f"{who}_voice.tmp")
        os.replace(self.work / "voices" / f"{who}_voice.tmp", self.work / "voices" / f"{who}_voice.wav")

    def break_reference(self, rng: random.Random) -> None:
        who = rng.choice(["guide", "keeper"])
        path = self.work / "voices" / f"{who}_voice.wav"
        good = path.read_bytes()
        path.write_bytes(good[:200])  # truncated: refused, the previous voice stays
        self.wait(rng, 1.0, 3.0)
        path.write_bytes(good)

    def edit_voice_map(self, rng: random.Random) -> None:
        path = self.work / "voices" / "voice_map.json"
        good = path.read_text() if path.exists() else "{}"
        path.write_text("{broken json")
        self.wait(rng, 1.0, 3.0)
        path.write_text(good)
