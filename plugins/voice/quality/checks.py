"""The checks that need no model beyond the transcript: words, length, a cut at the end."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plugins.voice.core.settings import QualitySettings
from plugins.voice.listening.transcriber import words

TAIL_SECONDS = 0.01
SILENT_DB = -120.0


@dataclass(frozen=True)
class WordCount:
    expected: int
    added: int  # words heard that the text does not have (a hallucinated tail, a repeat)
    missing: int  # words of the text not heard (a cut, a skipped phrase)
    wrong: int  # words heard as other words (often the recognizer's mistake, not the take's)
    letters: int  # letters of the text
    letters_heard: int
    cer: float  # letter error rate: high for babble, low for a word split or joined by the recognizer

    @property
    def wer(self) -> float:
        return (self.added + self.missing + self.wrong) / max(1, self.expected)

    @property
    def off(self) -> int:
        """Words added or missing, as far as the letters bear it out: a small recognizer splits and joins
        words ("mast lurches" heard as "mass lurch is"), which adds words but not letters."""
        per_word = self.letters / max(1, self.expected)
        by_letters = math.ceil(abs(self.letters_heard - self.letters) / max(per_word, 1.0) - 1e-9)
        return min(self.added + self.missing, by_letters)


def count_words(text: str, heard: str) -> WordCount:
    """Aligns what was heard with the text after `say --check`'s normalization (jiwer)."""
    import jiwer

    expected, got = words(text), words(heard)
    letters, letters_heard = "".join(expected), "".join(got)
    if not got:
        return WordCount(len(expected), 0, len(expected), 0, len(letters), 0, 1.0)
    if not expected:
        return WordCount(0, len(got), 0, 0, 0, len(letters_heard), 1.0)
    out = jiwer.process_words(" ".join(expected), " ".join(got))
    cer = float(jiwer.cer(" ".join(expected), " ".join(got)))
    return WordCount(len(expected), out.insertions, out.deletions, out.substitutions, len(letters),
                     len(letters_heard), cer)


def word_faults(count: WordCount, settings: QualitySettings) -> list[str]:
    allowed = max(1, math.ceil(count.expected / settings.words_per_error))
    faults = []
    if count.off > allowed:
        faults.append(f"words: about {count.off} of {count.expected} missing or added ({count.missing} missing, "
                      f"{count.added} added; at most {allowed})")
    elif count.cer > settings.max_cer:
        faults.append(f"words: {count.cer:.0%} of the letters heard wrong (at most {settings.max_cer:.0%})")
    return faults


def length_faults(seconds: float, expected_words: int, settings: QualitySettings) -> list[str]:
    longest = settings.base_seconds + settings.seconds_per_word * expected_words
    shortest = settings.min_seconds_per_word * expected_words
    if seconds > longest:
        return [f"long: {seconds:.1f} s for {expected_words} words (at most {longest:.1f} s)"]
    if seconds < shortest:
        return [f"short: {seconds:.2f} s for {expected_words} words (at least {shortest:.1f} s)"]
    return []


def tail_db(samples: np.ndarray, rate: int) -> float:
    """Loudness of the last 10 ms relative to the whole line, in dB (SILENT_DB for silence)."""
    samples = np.asarray(samples, dtype=np.float64)
    whole = math.sqrt(float(np.mean(np.square(samples)))) if len(samples) else 0.0
    tail = samples[-max(1, int(rate * TAIL_SECONDS)):]
    end = math.sqrt(float(np.mean(np.square(tail)))) if len(tail) else 0.0
    if whole < 1e-6:
        return SILENT_DB
    return 20 * math.log10(max(end, 1e-9) / whole)


def cut_faults(level: float, settings: QualitySettings) -> list[str]:
    if level > settings.tail_db:
        return [f"cut: the last 10 ms are at {level:.0f} dB of the line (at most {settings.tail_db:.0f} dB)"]
    return []
