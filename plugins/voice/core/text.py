"""Text preparation shared by engines: clean it, split it into sentences, pack under a limit."""

from __future__ import annotations

import re
import unicodedata

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str, max_chars: int = 5000) -> str:
    """Drops control characters, folds whitespace, caps absurd lengths."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    return " ".join(text.split())[:max_chars]


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(clean(text)) if part]


def pack(text: str, limit: int) -> list[str]:
    """Splits text into parts of at most `limit` characters, at sentence ends where possible,
    else at commas, else at spaces; never inside a word unless the word alone is too long."""
    parts: list[str] = []
    for sentence in sentences(text):
        pieces = [sentence] if len(sentence) <= limit else _split_long(sentence, limit)
        for piece in pieces:
            if parts and len(parts[-1]) + 1 + len(piece) <= limit:
                parts[-1] = f"{parts[-1]} {piece}"
            else:
                parts.append(piece)
    return parts


def _split_long(sentence: str, limit: int) -> list[str]:
    chunks: list[str] = []
    for clause in re.split(r"(?<=[,;:])\s+", sentence):
        words = clause.split(" ")
        current = ""
        for word in words:
            while len(word) > limit:
                if current:
                    chunks.append(current)
                    current = ""
                chunks.append(word[:limit])
                word = word[limit:]
            if current and len(current) + 1 + len(word) > limit:
                chunks.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        if current:
            chunks.append(current)
    return chunks
