"""`engine voices report`: how alike each character's lines are to its reference and to the others'.

For each character, N of its reachable lines are spoken (from the audio cache when they are there,
so the report hears what players hear) and put through the gate; the similarity of every line to
every reference gives the matrix. Characters whose lines are nearly as alike another's reference
as their own (margin under TOO_CLOSE) are named: the speaker model, and players, may not tell them apart.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import write_atomic
from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.voice import LineSettings
from plugins.voice.quality.gate import QualityGate, Verdict
from plugins.voice.quality.speakers import MIN_VOICED_SECONDS, RATE, VoicePrint
from plugins.voice.render.render import Renderer
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key

TOO_CLOSE = 0.05
MIN_WORDS = 4  # lines this short say little about a voice; used only when a character has no longer ones


@dataclass
class CharacterRow:
    character_id: str
    engine: str
    lines: int = 0
    own: list[float] = field(default_factory=list)  # similarity of each line to its own reference
    matrix: dict[str, float] = field(default_factory=dict)  # mean similarity of its lines to each reference
    faults: dict[str, int] = field(default_factory=dict)  # words / long / short / cut / speaker -> lines

    @property
    def nearest(self) -> tuple[str | None, float | None]:
        others = {k: v for k, v in self.matrix.items() if k != self.character_id}
        if not others:
            return None, None
        name = max(others, key=others.__getitem__)
        return name, others[name]

    @property
    def margin(self) -> float | None:
        name, value = self.nearest
        own = self.matrix.get(self.character_id)
        return None if value is None or own is None else own - value


@dataclass
class VoiceReport:
    story: str
    rows: list[CharacterRow]
    references: list[str]

    def warnings(self) -> list[str]:
        found = []
        for row in self.rows:
            name, value = row.nearest
            margin = row.margin
            if margin is not None and margin < TOO_CLOSE:
                found.append(f"{row.character_id} on {row.engine} is hard to tell from {name}: its lines are "
                             f"{row.matrix[row.character_id]:.2f} like its own reference and {value:.2f} like {name}'s.")
        return found


def make_report(renderer: Renderer, gate: QualityGate, per_character: int,
                tell: Callable[[str], None] = lambda text: None) -> VoiceReport:
    job = renderer.job
    reach, _ = renderer.plan()  # checks the engines, seeds missing references
    cache = AudioCache(job.settings.cache)
    voices = renderer.cast.voices()
    chosen: dict[str, list[str]] = {}
    for line in reach.lines:
        chosen.setdefault(line.character_id, [])
    for character_id in chosen:
        texts = list(dict.fromkeys(line.text for line in reach.lines if line.character_id == character_id))
        longer = [text for text in texts if len(text.split()) >= MIN_WORDS]
        chosen[character_id] = (longer or texts)[:per_character]
    rows = []
    references = [voice.character_id for voice in voices]
    for voice in voices:
        if voice.character_id not in chosen:
            continue
        engine = renderer.engines[job.engine or voice.engine]
        calibration = renderer.book.calibration(engine, voices)
        row = CharacterRow(voice.character_id, engine.name)
        sums: dict[str, list[float]] = {}
        for text in chosen[voice.character_id]:
            tell(f"{voice.character_id}: {text[:60]}")
            key = line_key(engine, voice, text)
            audio = cache.get(key)
            if audio is None:
                chunks = list(engine.synthesize(text, voice, LineSettings(speed=voice.speed, language=voice.language)))
                if not chunks:
                    continue
                audio = concat(chunks)
                cache.put(key, audio)
            verdict = gate.check(text, audio, voice.character_id, calibration)
            _count(row, verdict)
            row.lines += 1
            for other, similarity in _similarities(gate, audio, calibration.prints).items():
                sums.setdefault(other, []).append(similarity)
        row.matrix = {other: float(np.mean(values)) for other, values in sums.items()}
        row.own = sums.get(voice.character_id, [])
        rows.append(row)
    if not rows:
        raise VoiceError(f"{job.story.slug} has no spoken line to report on.")
    return VoiceReport(job.story.slug, rows, references)


def _count(row: CharacterRow, verdict: Verdict) -> None:
    for fault in verdict.faults:
        kind = fault.split(":")[0]
        row.faults[kind] = row.faults.get(kind, 0) + 1


def _similarities(gate: QualityGate, audio: AudioChunk, prints: Mapping[str, VoicePrint]) -> dict[str, float]:
    voiced = gate.speakers.voiced(audio)
    if len(voiced) < MIN_VOICED_SECONDS * RATE:
        return {}
    embedding = gate.speakers.embed(voiced)
    return {name: float(embedding @ p.embedding) for name, p in prints.items()}


def write_html(report: VoiceReport, path: Path) -> None:
    """One page: the table, then the similarity matrix as a picture (SVG, no script, no download)."""
    cell, left, top = 64, 150, 110
    names = report.references
    rows = report.rows
    width, height = left + cell * len(names) + 20, top + cell * len(rows) + 20
    shapes = []
    for j, name in enumerate(names):
        x = left + j * cell + cell / 2
        shapes.append(f'<text x="{x}" y="{top - 10}" transform="rotate(-40 {x} {top - 10})">{html.escape(name)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell
        shapes.append(f'<text x="{left - 8}" y="{y + cell / 2 + 5}" text-anchor="end">{html.escape(row.character_id)}'
                      "</text>")
        for j, name in enumerate(names):
            value = row.matrix.get(name)
            shade = 0.0 if value is None else max(0.0, min(1.0, (value - 0.5) / 0.5))
            color = f"rgb({int(255 - 200 * shade)},{int(255 - 120 * shade)},{int(255 - 30 * shade)})"
            edge = ' stroke="#000" stroke-width="3"' if name == row.character_id else ' stroke="#fff"'
            label = "" if value is None else f"{value:.2f}"
            shapes.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell}" height="{cell}" fill="{color}"{edge}/>')
            shapes.append(f'<text x="{left + j * cell + cell / 2}" y="{y + cell / 2 + 5}" text-anchor="middle">'
                          f"{label}</text>")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="13">{"".join(shapes)}</svg>')
    table = "".join(
        f"<tr><td>{html.escape(r.character_id)}</td><td>{r.engine}</td><td>{r.lines}</td>"
        f"<td>{_fmt(float(np.mean(r.own)) if r.own else None)}</td><td>{_fmt(min(r.own) if r.own else None)}</td>"
        f"<td>{html.escape(str(r.nearest[0] or '-'))}</td><td>{_fmt(r.margin)}</td>"
        f"<td>{html.escape(_faults(r))}</td></tr>" for r in rows)
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Voices of {html.escape(report.story)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:4px 10px;text-align:left}}
tr:nth-child(even){{background:#f3f3f3}}</style>
</head><body><h1>Voices of {html.escape(report.story)}</h1>
<p>Each row: a character's lines; each column: a character's reference. A cell is how alike (cosine similarity of
speaker embeddings, resemblyzer) the row's lines are to the column's reference, on average. The framed cell is
the character's own reference: it should be the darkest of its row.</p>
<table><tr><th>character</th><th>engine</th><th>lines</th><th>own mean</th><th>own min</th><th>nearest other</th>
<th>margin</th><th>gate faults</th></tr>{table}</table>
{f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else ""}
<h2>Similarity matrix</h2>{svg}</body></html>
"""
    write_atomic(path, page.encode())


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _faults(row: CharacterRow) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(row.faults.items())) or "none"
