"""A voice that stops sending is given up within its budget ([voice.stall]) and the line goes on in the next
engine; the stalled stream is cancelled (the server sees its socket closed, the model drops the request).

Real parts: the edge engine against a local websocket server that stops mid-stream, the tiny XTTS
checkpoint with a model call that stops producing, real Piper as the next engine. (The bridge frozen
by SIGSTOP is in test_bridge.py, beside its server.) Timing claims are read from the trace: the
engine was waited on for its budget and not much longer; nothing here schedules a fault by the clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.budget import Budget
from plugins.voice.core.errors import Stalled
from plugins.voice.core.settings import CacheSettings, EdgeSettings, StallSettings
from plugins.voice.engines.edge import EdgeEngine
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from tests.support.common import wait_until
from tests.support.edge_server import FakeEdgeServer
from tests.support.stall_helpers import MARGIN, STORY, Rig, spoken


@pytest.fixture
def stalling_edge() -> Iterator[FakeEdgeServer]:
    server = FakeEdgeServer("stall")
    yield server
    server.close()


def test_an_edge_stream_that_stops_goes_to_the_next_engine_and_its_socket_is_closed(
        tmp_path: Path, piper: Any, stalling_edge: FakeEdgeServer) -> None:
    edge = EdgeEngine(EdgeSettings(endpoint=stalling_edge.url, receive_timeout=60))  # the socket would wait a minute
    rig = Rig(tmp_path, {"edge": edge, "piper": piper}, StallSettings(first_network=1.0))
    try:
        record = rig.speak(spoken(1, "archaeologist"))
        assert record["engine"] == "piper" and not record["skipped"] and record["seconds"] > 2
        (passed,) = record["fallback"]
        assert passed["engine"] == "edge" and passed["reason"].startswith("sent no audio for")
        assert 1000 <= passed["stalled_after_ms"] <= 1000 + MARGIN * 1000
        assert record["first_audio_ms"] <= (1.0 + MARGIN) * 1000  # the player heard the line within the budget
        assert stalling_edge.closed.wait(10) and stalling_edge.open_sockets == 0  # the stream was cancelled
        assert rig.notices[0].startswith("edge voice unavailable: sent no audio for")
        assert len(stalling_edge.requests) == 1
    finally:
        rig.speaker.close(drain=True)
        edge.close()


def test_a_stalled_prefetch_stream_is_cancelled_and_made_by_the_next_engine(
        tmp_path: Path, piper: Any, stalling_edge: FakeEdgeServer) -> None:
    edge = EdgeEngine(EdgeSettings(endpoint=stalling_edge.url, receive_timeout=60))
    fallback = Fallback({"edge": edge, "piper": piper}, ["edge", "piper"], lambda text: None, 0)
    cast = Cast(STORY, tmp_path / "voices", "edge", {}, ReferenceStore(tmp_path / "checked"))
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    prefetcher = Prefetcher(cast, fallback, cache, Gate(), line_key, depth=4,
                            patience=Patience(StallSettings(prefetch=1.0))).start()
    line = spoken(2, "archaeologist")
    try:
        prefetcher.update([line])
        assert stalling_edge.closed.wait(30)  # given up after its 1 s, not the socket's 60 s
        assert stalling_edge.open_sockets == 0
        wanted = line_key(piper, cast.voice_for("archaeologist"), line.text)
        wait_until(lambda: cache.contains(wanted), 30, "the line made by the next engine")
        assert "edge" in fallback.down
    finally:
        prefetcher.close()
        edge.close()


class Measured:
    """An engine that says how fast it has been (measured_rtf), as XTTS, Kokoro and the bridge client do."""

    name = "measured"

    def __init__(self, network: bool, found: tuple[float, int] | None) -> None:
        self.network, self.found = network, found

    def measured_rtf(self) -> tuple[float, int] | None:
        return self.found


def test_patience_for_a_first_chunk_grows_with_a_measured_pace_network_or_local() -> None:
    patience: Any = Patience(StallSettings(grace=1.5, first_network=3.0, first_local=6.0))  # Measured: not whole engines
    assert patience.first(Measured(True, None)) == 3.0 and patience.first(Measured(False, None)) == 6.0
    assert patience.first(Measured(True, (4.0, 3))) == 8.0  # a bridge slower than speech: two chunks at its pace
    assert patience.first(Measured(False, (4.0, 3))) == 8.0 and patience.first(Measured(False, (0.5, 3))) == 6.0
    assert patience.next(Measured(True, (4.0, 3)), 0.5, 3.0) == 2.0  # a stream's next chunk: what is queued + grace
    assert patience.next(Measured(False, (4.0, 3)), 0.5, 3.0) == 5.5  # a model here: also its own chunk time
    # a line cut midway, starting again: its engines share the grace from the cut (at least a third each); None
    # once it is spent (the last resort speaks); under two thirds of it, an engine is not judged by it
    assert patience.resumed(0.5) == 1.0 and patience.resumed(1.2) == 0.5 and patience.resumed(1.5) is None
    assert patience.short(0.5) and not patience.short(1.0)


def test_a_budget_shortened_while_waiting_is_seen_at_once() -> None:
    import queue

    budget = Budget(60.0)
    source: queue.Queue[int] = queue.Queue()
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            budget.get(source, "edge")
        except Stalled as exc:
            failure.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    budget.take_over(0.2)  # the speaker adopts the line: its own patience counts now
    budget.allow(60.0, background=True)  # and prefetch can no longer lengthen it
    waiter.join(10)
    assert not waiter.is_alive() and isinstance(failure[0], Stalled)
    assert failure[0].reason.startswith("sent no audio for")


def test_progress_on_other_work_keeps_a_queued_request_waiting() -> None:
    import queue
    import time

    budget = Budget(0.2)
    source: queue.Queue[int] = queue.Queue()

    def serve_late() -> None:  # the model works on other lines first, past this request's own allowance
        while (budget.left() or 0) > -0.2:
            time.sleep(0.01)
        source.put(7)

    server = threading.Thread(target=serve_late)
    server.start()
    assert budget.get(source, "xtts", progress=time.monotonic) == 7  # the model kept moving: no stall
    server.join(10)
    with pytest.raises(Stalled):
        Budget(0.1).get(queue.Queue(), "xtts", progress=lambda: 0.0)  # a model that stopped: stalled


class Freezing:
    """Wraps our real streaming loop: lines with `marker` give one chunk, then the model stops
    producing until `release` is set (what a hung CUDA kernel or a deadlocked call looks like from outside)."""

    def __init__(self, engine: Any, marker: str) -> None:
        self.owner = engine.owner
        self.real = engine.owner.streamer
        self.marker = marker
        self.release = threading.Event()
        self.frozen = threading.Event()
        self.after_release = 0
        self.closed = threading.Event()

    def __getattr__(self, name: str) -> Any:  # the real loop's other parts (its warm-up steps)
        return getattr(self.real, name)

    def __enter__(self) -> Freezing:
        self.owner.streamer = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.owner.streamer = self.real

    def __call__(self, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if self.marker not in text:
            yield from self.real(text, *args, **kwargs)
            return
        try:
            for number, chunk in enumerate(self.real(text, *args, **kwargs)):
                if number == 1:
                    self.frozen.set()
                    assert self.release.wait(120), "never released"
                if self.release.is_set():
                    self.after_release += 1
                yield chunk
        finally:
            self.closed.set()


@pytest.mark.slow
def test_an_xtts_model_that_stops_producing_is_given_up_and_its_request_dropped(
        tmp_path: Path, installed_xtts: Path, reference_wav: Path, piper: Any, stalling_edge: FakeEdgeServer) -> None:
    """Then the line would start again on edge, which sends nothing: but the player has already heard the
    restart's silence budget (the grace, while XTTS was waited for), so edge is passed over at once (not given
    a first chunk's 20 s, and not taken out of use) and piper, the last resort, speaks."""
    import shutil

    from plugins.voice.core.settings import XttsSettings
    from plugins.voice.engines.xtts.engine import XttsEngine

    (tmp_path / "voices").mkdir()
    shutil.copy(reference_wav, tmp_path / "voices" / "god_deep.wav")
    xtts = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "latents", while_loading="wait"))
    edge = EdgeEngine(EdgeSettings(endpoint=stalling_edge.url, receive_timeout=60))
    rig = Rig(tmp_path, {"xtts": xtts, "edge": edge, "piper": piper},
              StallSettings(grace=0.5, first_local=60, first_network=20), when_slow="stream")  # its first chunk heard
    try:
        assert rig.speak(spoken(1, "god", "Who walks so softly in my house?"))["engine"] == "xtts"
        assert xtts.warmed.wait(60)
        with Freezing(xtts, "sealed") as freezing:
            record = rig.speak(spoken(2, "god"))
            assert freezing.frozen.is_set()  # it did stop after its first chunk
            assert record["engine"] == "piper" and record["seconds"] > 2
            passed, resumed = record["fallback"]
            assert passed["engine"] == "xtts" and passed["reason"].startswith("stopped sending audio for")
            assert resumed["engine"] == "edge" and resumed["reason"].startswith("passed over: the line had been silent")
            assert stalling_edge.requests == [] and "edge" not in rig.fallback.down
            # waited for: the audio queued (about 1 s), or as long as the first chunk took, plus the grace; with no
            # budget this wait would never end (the model never answers)
            assert 500 <= passed["stalled_after_ms"] <= 15_000
            assert (xtts.probe() or "").startswith("its model has made no audio")  # down while the owner is stuck
            freezing.release.set()
            assert freezing.closed.wait(30)  # the owner dropped the abandoned request at its next chunk
            assert freezing.after_release <= 1
            wait_until(lambda: xtts.probe() is None, 30, "a clean probe")  # and a re-probe would bring it back
    finally:
        rig.speaker.close(drain=True)
        xtts.close()
        edge.close()
