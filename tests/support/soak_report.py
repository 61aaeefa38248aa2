"""What the soak reports from a game's trace and output: lines reached and voiced, silences inside
lines and waits before them (each long one with what explains it), the notices the player saw."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


def count_lines(trace: Path) -> dict[str, Any]:
    reached, voiced, silent_with_reason = [], set(), 0
    engines: dict[str, int] = {}
    checked: dict[str, int] = {}
    for raw in trace.read_text().splitlines():
        record = json.loads(raw)
        if record["event"] == "quality":
            kind = "error" if "error" in record else "passed" if record["passed"] else "failed"
            checked[kind] = checked.get(kind, 0) + 1
        if record["event"] in ("narration", "dialogue"):
            reached.append(record["line_id"])
        elif record["event"] == "voice":
            voiced.add(len(reached))
            engine = record.get("engine") or "none"
            engines[engine] = engines.get(engine, 0) + 1
            if record.get("engine") is None:
                silent_with_reason += bool(record.get("fallback") or record.get("error"))
    return {"reached": len(reached), "voice_records": sum(engines.values()), "engines": engines,
            "unvoiced_with_reason": silent_with_reason, "quality_checks": checked}


LONG_GAP_MS = 500.0  # a silence inside a line this long is listed with its cause
LONG_WAIT_MS = 1000.0  # ... and a wait before a line


def silences(trace: Path, outside: list[dict[str, Any]]) -> dict[str, Any]:
    """Silences inside lines (the longest gap of each) and waits before lines, from the voice records;
    each long one with what explains it: the engines passed over for it and the outside faults under way."""
    records = [json.loads(raw) for raw in trace.read_text().splitlines()]
    clock = next((r["unix"] - r["t_ms"] / 1000 for r in records if r["event"] == "chaos_clock"), None)
    voiced = [r for r in records if r["event"] == "voice" and r.get("engine")]
    gaps = sorted(float(r.get("gaps_ms_max") or 0.0) for r in voiced)
    ready = next((r["t_ms"] for r in records if r["event"] == "engine" and r.get("kind") == "ready"), 0.0)
    loading = [r for r in voiced if r.get("wait_ms") is not None and _due_ms(r) < ready]  # waited for XTTS's first load
    waits = sorted(float(r["wait_ms"]) for r in voiced if r.get("wait_ms") is not None and r not in loading)
    long = []
    for r in voiced:
        gap, wait = float(r.get("gaps_ms_max") or 0.0), float(r.get("wait_ms") or 0.0)
        if gap < LONG_GAP_MS and wait < LONG_WAIT_MS:
            continue
        ended, due = r["t_ms"] / 1000, _due_ms(r) / 1000
        under_way = [e["fault"] for e in outside
                     if clock is not None and e["from"] - clock <= ended and e["to"] - clock >= due - 1.0]
        long.append({"line": r["line_id"], "t_s": round(ended, 1), "gap_ms": gap, "wait_ms": wait, "engine": r["engine"],
                     "cache": r.get("cache"), "held": r.get("held"),
                     "passed_over": [f"{f['engine']}: {f['reason']}" for f in r.get("fallback") or []],
                     "outside": under_way})
    return {"inside_ms": {"max": _at(gaps, 1.0), "p99": _at(gaps, 0.99), "over_500": sum(g > 500 for g in gaps)},
            "before_ms": {"median": _at(waits, 0.5), "p95": _at(waits, 0.95), "max": _at(waits, 1.0)},
            "first_load": {"lines": len(loading), "wait_ms_max": max((r["wait_ms"] for r in loading), default=0.0)},
            "long": long}


def _due_ms(record: dict[str, Any]) -> float:
    """When the line could have started: its end less its audio, its silences and the wait before it."""
    return record["t_ms"] - 1000 * float(record.get("seconds") or 0.0) - float(record.get("wait_ms") or 0.0) - \
        float(record.get("gaps_ms_total") or 0.0)


def _at(values: list[float], share: float) -> float:
    return round(values[min(len(values) - 1, int(share * len(values)))], 1) if values else 0.0


def notices(output: str) -> dict[str, int]:
    kinds = {"engine down": "voice unavailable:", "engine back": "voice is ready.", "reference refused": "refused:",
             "new voice": "New voice for", "voice map kept": "The previous voice map stays.",
             "no audio device": "No audio device", "no engine for a line": "No voice engine could speak",
             "answer heard": "(heard)", "answer unclear": "That is not one of the choices"}
    return {name: output.count(text) for name, text in kinds.items()}


_RECORD = re.compile(r"^\d{4}-\d\d-\d\d ")  # a log record's first line (engine.log's format)


def log_tracebacks(path: Path) -> dict[str, int]:
    """Each traceback in a log, by its exception line; one that names no injected fault ("chaos") is a bug."""
    text = path.read_text(errors="replace") if path.exists() else ""
    found: dict[str, int] = {}
    for block in text.split("Traceback (most recent call last):")[1:]:
        exception = "?"
        for line in block.splitlines()[1:]:
            if _RECORD.match(line):
                break
            if line and not line.startswith(" "):
                exception = line.strip()[:160]
        found[exception] = found.get(exception, 0) + 1
    return found


def unexplained(tracebacks: dict[str, int]) -> int:
    return sum(count for exception, count in tracebacks.items() if "chaos" not in exception)
