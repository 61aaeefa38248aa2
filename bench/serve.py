"""`engine serve` under many players, in one run: simulated players (HTTP clients following the page's
own protocol) at reading pace on one server, from a Piper voice pack and from live Piper with prefetch.

    .venv/bin/python bench/serve.py [--seconds 60] [--players 20] [--live 5,10,20] [--against REV]

Each player opens a game, fetches every line's audio (MP3) as the page does, waits the line's reading time,
thinks 1 s at a choice, picks one at random (seeded), and starts again after an ending. Reported per run:
from a choice (or a new game) to the first audio byte of its first line (p50, p95, max), lines fetched,
errors, the server's RSS (start, max, end) and threads (max, end). The pack run is the baseline: the
same server and protocol with no synthesis at all, so live/pack is what synthesis costs. With --against REV,
the pack run also serves from that commit's code (a git worktree), in turns with this tree's, so a change to
the server is compared with its baseline in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOMB = ROOT / "stories" / "tomb"
sys.path.insert(0, str(ROOT))  # run as a file: the repository's packages

from bench.stats import percentile  # noqa: E402


def write_config(work: Path) -> Path:
    config = work / "config.toml"
    config.write_text(
        f'[engine]\nsaves_dir = "{work / "saves"}"\n[serve]\nmax_players = 100\n'
        f'[voice]\nsink = "null"\nvoices_dir = "{ROOT / "voices"}"\nchecked_dir = "{work / "checked"}"\n'
        f'engine = "piper"\nfallback = ["piper"]\nreprobe_seconds = 0.0\n[voice.cache]\ndir = "{work / "cache"}"\n',
        encoding="utf-8")
    return config


def render_pack(config: Path, folder: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "engine", "render", str(TOMB), "--engine", "piper", "--out",
                           str(folder), "--no-gate", "--config", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


class Served:
    def __init__(self, config: Path, work: Path, *extra: str, code: Path = ROOT) -> None:
        env = dict(os.environ, XDG_STATE_HOME=str(work / "state"), XDG_CACHE_HOME=str(work / "xdg-cache"))
        self.process = subprocess.Popen([sys.executable, "-m", "engine", "serve", str(TOMB), "--port", "0",
                                         "--config", str(config), *extra], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env=env, cwd=code)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert first.startswith("Serving"), first
        self.base = first.split(" at ", 1)[1].split(" ", 1)[0]

    def rss_mb(self) -> float:
        for row in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.send_signal(2)
        self.process.wait(timeout=60)


class Tally:
    def __init__(self) -> None:
        self.first: list[float] = []
        self.moves: list[float] = []  # the POST of a choice or a new game alone
        self.pings: list[float] = []
        self.encoded: dict[str, int] = {}  # GET api/status under the same load: what any request costs here
        self.lines = 0
        self.errors: list[str] = []
        self.rss: list[float] = []
        self.threads: list[int] = []


async def play(base: str, seed: int, until: float, tally: Tally) -> None:
    chance = random.Random(seed)
    await asyncio.sleep(chance.uniform(0, 5))  # players arrive over the first seconds
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await client.get("/")
        while time.monotonic() < until:
            asked = time.monotonic()
            data = (await client.post("/api/games", json={})).json()
            tally.moves.append(time.monotonic() - asked)
            game = data["game"]
            while time.monotonic() < until:
                first = True
                for event in data["events"]:
                    if event["kind"] == "line" and event.get("sound"):
                        await fetch(client, f"/api/games/{game}/lines/{event['sound']}", asked if first else None,
                                    tally)
                        first = False
                        await asyncio.sleep(event["seconds"])
                last = data["events"][-1]
                if last["kind"] != "choices":
                    break
                await asyncio.sleep(1.0)
                asked = time.monotonic()
                answer = await client.post(f"/api/games/{game}/choices",
                                           json={"number": chance.randint(1, len(last["options"]))})
                tally.moves.append(time.monotonic() - asked)
                if answer.status_code != 200:
                    tally.errors.append(f"choice: {answer.status_code} {answer.text[:80]}")
                    break
                data = answer.json()
            await client.post(f"/api/games/{game}/close")


async def fetch(client: httpx.AsyncClient, url: str, asked: float | None, tally: Tally) -> None:
    try:
        async with client.stream("GET", url) as audio:
            async for piece in audio.aiter_raw():
                if asked is not None and piece:
                    tally.first.append(time.monotonic() - asked)
                    asked = None
            if audio.status_code != 200:
                tally.errors.append(f"audio: {audio.status_code}")
        tally.lines += 1
    except httpx.HTTPError as exc:
        tally.errors.append(f"audio: {type(exc).__name__}")


async def watch(server: Served, until: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        while time.monotonic() < until:
            tally.rss.append(server.rss_mb())
            began = time.monotonic()
            status = (await client.get("/api/status")).json()
            tally.threads.append(status["threads"])
            tally.encoded = status["encoded"]
            tally.pings.append(time.monotonic() - began)
            await asyncio.sleep(1.0)


def run(config: Path, work: Path, players: int, seconds: float, *extra: str, code: Path = ROOT) -> dict[str, Any]:
    server = Served(config, work, *extra, code=code)
    tally = Tally()
    until = time.monotonic() + seconds

    async def everyone() -> None:
        await asyncio.gather(watch(server, until, tally),
                             *(play(server.base, seed, until, tally) for seed in range(players)))

    try:
        asyncio.run(everyone())
        tally.rss.append(server.rss_mb())
    finally:
        server.stop()
    first, moves, pings = tally.first, tally.moves, tally.pings
    return {"players": players, "move_p50_ms": percentile(moves, 0.5) * 1000, "moves": len(moves),
            "move_p95_ms": percentile(moves, 0.95) * 1000, "ping_p50_ms": percentile(pings, 0.5) * 1000,
            "ping_p95_ms": percentile(pings, 0.95) * 1000, "pings": len(pings), "p50_ms": percentile(first, 0.5) * 1000,
            "p95_ms": percentile(first, 0.95) * 1000, "max_ms": percentile(first, 1.0) * 1000, "waits": len(first),
            "lines": tally.lines, "errors": len(tally.errors), "error_kinds": sorted(set(tally.errors))[:3],
            "rss_start": tally.rss[0], "rss_max": max(tally.rss), "rss_end": tally.rss[-1],
            "threads_max": max(tally.threads), "threads_end": tally.threads[-1], "encoded": tally.encoded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--players", type=int, default=20)
    parser.add_argument("--live", default="5,10,20", help="player counts for live Piper ('' for none)")
    parser.add_argument("--against", metavar="REV", help="also serve the pack with this commit's code, in turns")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    config = write_config(work)
    render_pack(config, work / "pack")
    packed = ("--pack", str(work / "pack"))
    rows = [("pack", run(config, work, args.players, args.seconds, *packed))]
    if args.against:
        rows += against(args.against, work, lambda code: run(config, work, args.players, args.seconds, *packed, code=code))
    for count in [int(n) for n in args.live.split(",") if n]:
        shutil.rmtree(work / "cache", ignore_errors=True)  # every live run starts cold
        rows.append(("live piper + prefetch", run(config, work, count, args.seconds)))
    print(f"{'voices':22} {'players':>7} {'waits':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'lines':>6} {'errors':>6} "
          f"{'RSS MB start/max/end':>21} {'threads max/end':>15}")
    for name, row in rows:
        print(f"{name:22} {row['players']:7d} {row['waits']:6d} {row['p50_ms']:7.0f} {row['p95_ms']:7.0f} "
              f"{row['max_ms']:7.0f} {row['lines']:6d} {row['errors']:6d} "
              f"{row['rss_start']:7.0f}/{row['rss_max']:.0f}/{row['rss_end']:.0f}{row['threads_max']:>11d}/{row['threads_end']}")
        print(f"   the move alone (POST, {row['moves']} samples): p50 {row['move_p50_ms']:.0f} ms, p95 "
              f"{row['move_p95_ms']:.0f} ms; GET api/status ({row['pings']}): p50 {row['ping_p50_ms']:.0f} ms, p95 "
              f"{row['ping_p95_ms']:.0f} ms; MP3 cache: "
              f"{row['encoded'].get('hits')} hits, {row['encoded'].get('misses')} misses")
        if row["error_kinds"]:
            print("   errors:", "; ".join(row["error_kinds"]))
    pack = rows[0][1]
    for name, row in rows[1:]:
        if name.startswith("pack"):
            print(f"{name}: p95 {row['p95_ms'] / pack['p95_ms']:.2f}x this tree's first pack run")
        else:
            print(f"{name} with {row['players']} players: p95 {row['p95_ms'] / pack['p95_ms']:.1f}x the pack's")


def against(rev: str, work: Path, measure: Any) -> list[tuple[str, dict[str, Any]]]:
    """The pack run with `rev`'s code (a detached worktree, removed after), then this tree's again: in turns,
    so the machine's drift between hours touches both."""
    tree = work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                   capture_output=True)
    try:
        return [(f"pack at {rev}", measure(tree)), ("pack (this tree again)", measure(ROOT))]
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


if __name__ == "__main__":
    main()
