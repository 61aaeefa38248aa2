"""A line cut midway starts again within one silence budget (Patience.resumed): the engines tried share a late
chunk's grace from the cut, one given too little is passed over without being marked down, and the line's last
resort speaks once it is spent. Real Piper (wrapped to break after its first chunk, or to be slow) and the edge
engine against local websocket servers that stop sending; timing claims come from the trace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plugins.voice.core.errors import SynthesisFailed
from plugins.voice.core.settings import EdgeSettings, StallSettings
from plugins.voice.engines.edge import EdgeEngine
from tests.support.edge_server import FakeEdgeServer
from tests.support.stall_helpers import MARGIN, Rig, Wrapped, spoken


class Breaking(Wrapped):
    """Wraps real Piper: each line gives its first chunk, then fails (what a crashed model process looks like)."""

    name = "breaking"

    def synthesize(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield next(iter(self.real.synthesize(*args, **kwargs)))
        raise SynthesisFailed("breaking", "its process died")


def test_a_line_cut_midway_shares_one_silence_among_the_engines_that_try_it(tmp_path: Path, piper: Any) -> None:
    """After a cut the restart has one budget for the silence, a late chunk's grace counted from the cut: the
    first network engine that sends nothing has all of it and is taken out of use; the next is passed over at
    once, without a request and without being marked down (the silence is spent), and the last resort speaks,
    rather than each engine getting the whole grace in turn."""
    servers = [FakeEdgeServer("stall"), FakeEdgeServer("stall")]
    edges = [EdgeEngine(EdgeSettings(endpoint=server.url, receive_timeout=60)) for server in servers]
    rig = Rig(tmp_path, {"breaking": Breaking(piper), "edge": edges[0], "edge-b": edges[1], "piper": piper},
              StallSettings(grace=1.5))
    try:
        record = rig.speak(spoken(3, "archaeologist"))
        assert record["engine"] == "piper" and not record["skipped"] and record["seconds"] > 2
        broke, first, second = record["fallback"]
        assert broke["engine"] == "breaking" and broke["reason"] == "its process died"
        assert first["engine"] == "edge" and first["reason"].startswith("sent no audio for")
        assert 1400 <= first["stalled_after_ms"] <= 1500 + MARGIN * 1000  # the grace, from the cut
        assert second["engine"] == "edge-b" and second["reason"].startswith("passed over: the line had been silent")
        assert second["stalled_after_ms"] == 0 and servers[1].requests == []
        assert "edge" in rig.fallback.down and "edge-b" not in rig.fallback.down
        assert record["gaps_ms_max"] <= (1.5 + MARGIN) * 1000  # the silence the player heard
        assert servers[0].closed.wait(10) and servers[0].open_sockets == 0  # the stalled stream was cancelled
    finally:
        rig.speaker.close(drain=True)
        for server, edge in zip(servers, edges, strict=True):
            edge.close()
            server.close()


class Slow(Wrapped):
    """Wraps real Piper: says it is 3x slower than speech (so `adapt` holds its lines until whole) and is."""

    name = "slow"

    def measured_rtf(self) -> tuple[float, int]:
        return 3.0, 5

    def synthesize(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in self.real.synthesize(*args, **kwargs):
            time.sleep(0.7)  # at least: a busy machine only makes it later
            yield chunk


def test_a_restarted_line_is_not_held_past_its_silence_budget(tmp_path: Path, piper: Any) -> None:
    """A slow engine after a cut would hold the line until whole (two sentences, 1.4 s or more): a silence
    inside the line. It is passed over once the restart's budget (here 1 s) is spent, without being marked down,
    and the last resort speaks, rather than the slow engine holding the line."""
    rig = Rig(tmp_path, {"breaking": Breaking(piper), "slow": Slow(piper), "piper": piper}, StallSettings(grace=1.0))
    try:
        record = rig.speak(spoken(4, "archaeologist"))
        assert record["engine"] == "piper" and not record["skipped"] and record["seconds"] > 2
        broke, slow = record["fallback"]
        assert broke["engine"] == "breaking" and slow["engine"] == "slow"
        assert slow["reason"] == "held past what was left of the line's silence" and "slow" not in rig.fallback.down
    finally:
        rig.speaker.close(drain=True)
