"""The audio cache: keys, hits, damage, eviction, and two processes at once."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.settings import CacheSettings
from plugins.voice.store.cache import AudioCache, cache_key
from tests.support.common import run_engine
from tests.support.voice import write_config

BASE = dict(engine="piper", model="m1", reference=None, language="en", speed=1.0, text="Hello there.")


def tone(seconds: float = 0.5, rate: int = 22050, frequency: float = 220.0) -> AudioChunk:
    t = np.arange(int(rate * seconds)) / rate
    return AudioChunk((0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), rate)


@pytest.mark.parametrize(
    "change", [{"engine": "edge"}, {"model": "m2"}, {"reference": "abc"}, {"language": "de"}, {"speed": 1.1},
               {"text": "Hello there!"}]
)
def test_key_covers_everything_that_changes_the_audio(change: dict[str, object]) -> None:
    assert cache_key(**BASE) != cache_key(**{**BASE, **change})


def test_key_ignores_whitespace_only_changes() -> None:
    assert cache_key(**BASE) == cache_key(**{**BASE, "text": "  Hello   there. "})


def test_round_trip(tmp_path: Path) -> None:
    cache = AudioCache(CacheSettings(dir=tmp_path))
    key = cache_key(**BASE)
    assert cache.get(key) is None
    cache.put(key, tone())
    hit = cache.get(key)
    assert hit is not None and hit.sample_rate == 22050
    assert np.max(np.abs(hit.samples - tone().samples)) < 1e-4  # stored as 16-bit PCM


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_damaged_entries_are_detected_and_dropped(damage: str, tmp_path: Path) -> None:
    cache = AudioCache(CacheSettings(dir=tmp_path))
    key = cache_key(**BASE)
    path = stored(cache, key, tone())
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a wav file at all")
    else:
        path.write_bytes(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    assert cache.get(key) is None
    assert not path.exists()


def stored(cache: AudioCache, key: str, audio: AudioChunk) -> Path:
    path = cache.put(key, audio)
    assert path is not None
    return path


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    one_entry = len(stored(AudioCache(CacheSettings(dir=tmp_path / "probe")), "x" * 64, tone()).read_bytes())
    cache = AudioCache(CacheSettings(dir=tmp_path / "c", max_mb=3.5 * one_entry / 1024 / 1024))
    keys = [cache_key(**{**BASE, "text": f"line {i}"}) for i in range(4)]
    for index, key in enumerate(keys[:3]):
        path = stored(cache, key, tone())
        os.utime(path, (time.time() - 100 + index, time.time() - 100 + index))
    assert cache.get(keys[0]) is not None  # a hit makes the oldest the most recent
    cache.put(keys[3], tone())
    assert cache.get(keys[1]) is None  # now the least recently used: evicted
    assert all(cache.get(k) is not None for k in (keys[0], keys[2], keys[3]))
    assert cache.stats().entries == 3 and cache.stats().bytes <= cache.max_bytes


def _worker(folder: str, seed: int, rounds: int, results: multiprocessing.Queue) -> None:
    cache = AudioCache(CacheSettings(dir=Path(folder), max_mb=0.2))
    rng = np.random.default_rng(seed)
    bad = 0
    for _ in range(rounds):
        index = int(rng.integers(0, 6))
        key = cache_key(**{**BASE, "text": f"shared {index}"})
        hit = cache.get(key)
        if hit is not None and len(hit.samples) != len(tone(0.3 + index * 0.1).samples):
            bad += 1
        cache.put(key, tone(0.3 + index * 0.1))
    results.put(bad)


def test_two_processes_can_share_the_cache(tmp_path: Path) -> None:
    results: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_worker, args=(str(tmp_path), s, 60, results)) for s in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert [results.get(timeout=5), results.get(timeout=5)] == [0, 0]
    assert not list(tmp_path.glob("??/.*.tmp"))  # no half-written files left behind
    assert AudioCache(CacheSettings(dir=tmp_path, max_mb=0.2)).stats().bytes <= 0.25 * 1024 * 1024


def test_cache_commands(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    cache.put(cache_key(**BASE), tone())
    stats = run_engine("cache", "stats", "--config", config)
    assert stats.returncode == 0 and "1 entries" in stats.stdout
    cleared = run_engine("cache", "clear", "--config", config)
    assert "Removed 1 entries" in cleared.stdout and cache.stats().entries == 0


def test_a_cache_that_cannot_be_written_costs_only_the_replay(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")  # every write fails, like a full disk
    cache = AudioCache(CacheSettings(dir=blocker / "cache"))
    assert cache.put(cache_key(**BASE), tone()) is None
    assert cache.get(cache_key(**BASE)) is None
