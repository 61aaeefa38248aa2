"""The XTTS model's owner thread: one synthesis at a time, the line being spoken first, and what
happens when the thread dies or the game quits while the model loads. The tiny random checkpoint, on the CPU.

"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from plugins.voice.core.errors import EngineUnavailable, Preempted
from plugins.voice.core.settings import XttsSettings
from plugins.voice.core.voice import LineSettings
from plugins.voice.engines.xtts.engine import XttsEngine
from tests.support.xtts_helpers import Spy, xtts_voice

pytestmark = pytest.mark.slow


def test_one_synthesis_at_a_time(xtts: XttsEngine, reference_wav: Path) -> None:
    voice = xtts_voice(reference_wav)
    errors: list[BaseException] = []

    def speak(text: str) -> None:
        try:
            list(xtts.synthesize(text, voice, LineSettings()))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with Spy(xtts) as spy:
        threads = [threading.Thread(target=speak, args=(f"Line number {n}.",)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not errors and len(spy.calls) == 3 and spy.most_active == 1


def test_the_line_being_spoken_goes_before_background_work(xtts: XttsEngine, reference_wav: Path) -> None:
    """One thread owns the model: a prefetch (background) synthesis gives way to the line being
    spoken between two chunks, and says so (Preempted), instead of holding the model."""
    voice = xtts_voice(reference_wav)
    long_text = " ".join(f"This is sentence number {n}, long enough to keep the model busy." for n in range(20))
    background = xtts.synthesize(long_text, voice, LineSettings(background=True))
    next(background)  # it is running now
    assert list(xtts.synthesize("Now, at once.", voice, LineSettings()))
    with pytest.raises(Preempted):
        list(background)
    assert list(xtts.synthesize("And the model is free again.", voice, LineSettings(background=True)))


def test_a_prefetched_line_the_speaker_adopts_goes_before_other_background_work(
        xtts: XttsEngine, reference_wav: Path) -> None:
    """A line made ahead is background work until the player reaches it; from then on (the speaker takes over
    its budget) it is served before background work queued ahead of it (another voice's latents, say)."""
    from plugins.voice.core.budget import Budget
    from tests.support.common import wait_until

    voice = xtts_voice(reference_wav)
    list(xtts.synthesize("Warm.", voice, LineSettings()))  # loaded and its latents made
    owner, busy, order = xtts.owner, threading.Event(), []
    owner.later(lambda: None if busy.wait(60) else None)  # the owner is busy with something
    owner.later(lambda: order.append("other background work"))
    budget = Budget(60.0)
    line = xtts.synthesize("The player reached this line.", voice, LineSettings(background=True, budget=budget))

    def follow() -> None:
        next(line)
        order.append("the adopted line")
        list(line)

    follower = threading.Thread(target=follow)
    follower.start()
    wait_until(lambda: len(owner._queue) == 2, 30, "both queued behind the busy owner")
    budget.take_over(60.0)  # the speaker adopts it
    busy.set()
    follower.join(60)
    wait_until(lambda: len(order) == 2, 30, "the other work done")
    assert order == ["the adopted line", "other background work"]


def test_an_owner_thread_that_dies_fails_every_pending_and_later_request(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.voice.engines.xtts.model import XttsModel

    owner = XttsModel(XttsSettings(model_dir=tmp_path / "none"), lambda event: None)  # no model: it fails to load
    gate = threading.Event()
    served: list[Any] = []

    def bug(request: Any) -> None:  # a bug in the owner's own loop, outside any request's work
        served.append(request)
        gate.wait(30)
        raise RuntimeError("a bug in the owner")

    monkeypatch.setattr(owner, "_serve", bug)
    owner.start()
    first = owner.submit(lambda request: None, urgent=True)
    while not served:  # the owner holds the first request; the second waits in its queue
        time.sleep(0.01)
    second = owner.submit(lambda request: None, urgent=False)
    gate.set()
    for request in (first, second, owner.submit(lambda request: None, urgent=True)):  # later ones too
        with pytest.raises(EngineUnavailable, match=r"its model thread stopped \(RuntimeError: a bug in the owner\)"):
            list(request.results())
    assert owner.error and "model thread stopped" in owner.error
    owner.close()


def test_a_quit_while_the_model_loads_does_not_wait_for_the_load(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.voice.engines.xtts.model import XttsModel

    owner = XttsModel(XttsSettings(model_dir=tmp_path / "none"), lambda event: None)
    loading, release = threading.Event(), threading.Event()

    def slow_load() -> None:  # loading the full model takes tens of seconds on a CPU, and cannot be interrupted
        loading.set()
        release.wait(60)
        owner.loaded.set()

    monkeypatch.setattr(owner, "_load", slow_load)
    owner.start()
    assert loading.wait(10)
    thread = owner._thread
    closer = threading.Thread(target=owner.close)
    closer.start()
    closer.join(10)
    assert not closer.is_alive()  # the quit went on
    release.set()  # the load ends; the thread sees the game is over and ends by itself
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
