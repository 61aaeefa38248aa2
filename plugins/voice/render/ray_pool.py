"""A render spread over a Ray cluster (extra `[render]`): one actor per worker slot, each holding one engine.

- `--ray auto` starts a local cluster on this machine; `--ray ADDRESS` joins a running one
  (`ray start --head` on one box, `ray start --address HEAD:6379` on the others). A head started where a
  Ray token is at hand requires it (token authentication); joining by address uses it too (`join_token`).
- An actor takes one CPU (one GPU for XTTS when the cluster has GPUs): XTTS cannot serve two
  streams at once, so an actor runs one line at a time and the pool keeps each one busy.
- Reference WAVs travel with the actors' arguments, so workers need no copy of voices/; they need
  the same install (this project, and the model for XTTS: an actor whose model differs refuses).
- A worker lost mid-render (its process or machine gone) costs only its lines in flight (2): they
  go back in the queue (3 tries at most) and a new actor takes the lost one's place when
  the cluster has room for it (else the others go on).
The driver's thread is the only one here: it submits, waits with `ray.wait`, and reports.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from plugins.voice.core.errors import VoiceError, install_extra
from plugins.voice.core.settings import VoiceSettings
from plugins.voice.core.voice import Voice
from plugins.voice.engines.piper.styles import PiperStyle
from plugins.voice.quality.gate import Judge
from plugins.voice.render.workers import Done, RenderTask, Result, failed, localize, shipped_references, synthesize

log = logging.getLogger(__name__)
TRIES = 3
IN_FLIGHT = 2  # lines queued at each actor
CLOSE_WAIT = 10.0  # seconds the workers get to remove their folders


TOKEN_HINT = ("; a cluster whose head was started with a Ray token needs it here too: set RAY_AUTH_TOKEN, or copy "
              "the head's ~/.ray/auth_token to this machine")


def join_token() -> None:
    """Ray's `ray start --head` turns token authentication on when a token is at hand (RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token), but a client joining by address uses it only with
    RAY_AUTH_MODE=token, and is refused otherwise. So, unless the user chose a mode, a token at hand turns it on
    here too, before Ray is imported (it reads the mode once)."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or \
            (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise VoiceError(f"Rendering on Ray needs the [render] extra: {install_extra('render')}.") from None
    return ray


class RenderActor:
    """Lives in a Ray worker process: builds and prepares one engine, then synthesizes lines."""

    def __init__(self, settings: VoiceSettings, styles: dict[str, PiperStyle], engine_name: str,
                 voices: Sequence[Voice], references: dict[str, bytes], judge: Judge | None = None) -> None:
        from plugins.voice.engines.registry import build_engines

        self.folder = Path(tempfile.mkdtemp(prefix=f"voiced-if-render-{os.getpid()}-"))
        self.references = references
        self.engines = build_engines(settings, piper_styles=styles)
        self.engine = self.engines[engine_name]
        self.engine.prepare([localize(v, self.folder, references) for v in voices])
        self.name = f"{os.uname().nodename}:{os.getpid()}"
        self.judge = judge  # the quality gate: this worker loads its own Whisper and speaker models

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        """Removes the worker's copies of the references (its process is killed next)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def render(self, task: RenderTask) -> Result:
        result = synthesize(self.engine, replace(task, voice=localize(task.voice, self.folder, self.references)),
                            self.judge)
        return replace(result, worker=self.name)


class RayPool:
    def __init__(self, address: str, workers: int, settings: VoiceSettings, styles: dict[str, PiperStyle],
                 engine_name: str, voices: Sequence[Voice], judge: Judge | None = None) -> None:
        if address != "auto":
            join_token()
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # not a line a second while a join is refused
        self.ray = ray = import_ray()
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a cluster we start reports nothing anywhere
        try:
            if address == "auto":
                ray.init(num_cpus=workers or None, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
            where = "start a local Ray cluster" if address == "auto" else f"join the Ray cluster at {address}"
            hint = TOKEN_HINT if address != "auto" else ""
            raise VoiceError(f"Cannot {where}: {str(exc).splitlines()[0].rstrip('.')}{hint}.") from None
        gpus = int(ray.cluster_resources().get("GPU", 0))
        resources = {"num_gpus": 1, "num_cpus": 1} if engine_name == "xtts" and gpus else {"num_cpus": 1}
        self.slot = "GPU" if "num_gpus" in resources else "CPU"
        slots = int(ray.cluster_resources().get(self.slot, 1))
        self.workers = max(1, min(workers or slots, slots))
        if self.slot == "CPU":  # one core per worker: Piper's onnxruntime would otherwise take them all
            settings = replace(settings, piper=replace(settings.piper, threads=1))
        self.actor_class = ray.remote(max_restarts=0, max_task_retries=0, **resources)(RenderActor)
        self.arguments = (settings, styles, engine_name, list(voices), shipped_references(voices), judge)
        self.actors = [self._start() for _ in range(self.workers)]
        self.lost = 0  # workers that died mid-render

    def _start(self) -> Any:
        return self.actor_class.remote(*self.arguments)

    def pids(self) -> list[int]:
        return list(self.ray.get([actor.pid.remote() for actor in self.actors]))

    def run(self, tasks: Sequence[RenderTask], done: Done) -> None:
        """Keeps IN_FLIGHT lines queued at each actor (it makes them one after another), so a worker never
        waits for the driver to write the last one; results are reported as they come."""
        ray = self.ray
        queue = deque((task, 1) for task in tasks)
        running: dict[Any, tuple[Any, RenderTask, int]] = {}
        while queue or running:
            self._fill(queue, running)
            if not running:  # every worker was lost and none could be started again
                for task, _ in queue:
                    done(task, failed("no Ray worker is left"))
                return
            finished, _ = ray.wait(list(running), num_returns=1)
            for ref in finished:
                actor, task, tries = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # the worker's process or machine is gone
                    self._lost(actor, task, tries, exc, queue, done)
                    continue
                except ray.exceptions.RayTaskError as exc:  # a bug in a worker: this line fails, the worker stays
                    result = failed(f"worker error: {exc}")
                self._fill(queue, running)
                done(task, result)

    def _fill(self, queue: deque[tuple[RenderTask, int]], running: dict[Any, tuple[Any, RenderTask, int]]) -> None:
        load = {id(actor): 0 for actor in self.actors}
        for actor, _, _ in running.values():
            load[id(actor)] = load.get(id(actor), 0) + 1
        for actor in self.actors:
            while queue and load[id(actor)] < IN_FLIGHT:
                task, tries = queue.popleft()
                running[actor.render.remote(task)] = (actor, task, tries)
                load[id(actor)] += 1

    def _lost(self, actor: Any, task: RenderTask, tries: int, exc: Exception, queue: deque[tuple[RenderTask, int]],
              done: Done) -> None:
        if actor in self.actors:
            self.lost += 1
            log.warning("render worker lost (%s); its lines go back in the queue", exc)
            self.actors.remove(actor)
            if not self.actors or self.ray.available_resources().get(self.slot, 0) >= 1:
                self.actors.append(self._start())  # else: go on with the workers left
        if tries < TRIES:
            queue.appendleft((task, tries + 1))
        else:
            done(task, failed(f"lost {TRIES} workers making this line"))

    def close(self) -> None:
        try:  # each worker removes its temporary folder; one that does not answer is killed all the same
            self.ray.get([actor.close.remote() for actor in self.actors], timeout=CLOSE_WAIT)
        except Exception as exc:  # noqa: BLE001 - a lost or hung worker must not stop the others' shutdown
            log.warning("a render worker did not close cleanly: %s", exc)
        for actor in self.actors:
            self.ray.kill(actor)
        self.ray.shutdown()
