"""A line's audio for browsers: MP3 (MPEG Layer III), the one compressed codec every current browser plays,
iOS Safari of every version included (Opus is not); encoded by libsndfile's LAME as the PCM arrives, so a
line still being made streams. About 70 kbit/s for a voice at 22-24 kHz (a sixth of 16-bit WAV)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import numpy as np
import soundfile

QUALITY = 0.6  # libsndfile's compression level, 0 (best) to 1 (smallest), at a constant bit rate


class Mp3Stream:
    """Encodes 16-bit mono PCM pieces; each call returns the MP3 bytes ready so far (whole frames)."""

    def __init__(self, rate: int) -> None:
        self.buffer = io.BytesIO()
        self.sent = 0
        self.file = soundfile.SoundFile(self.buffer, "w", samplerate=rate, channels=1, format="MP3",
                                        subtype="MPEG_LAYER_III", bitrate_mode="CONSTANT", compression_level=QUALITY)

    def encode(self, pcm: bytes) -> bytes:
        usable = len(pcm) - len(pcm) % 2
        if usable:
            self.file.write(np.frombuffer(pcm[:usable], dtype="<i2"))
        return self._take()

    def finish(self) -> bytes:
        """The last frames (the encoder's tail); no more encode() after this."""
        self.file.close()
        return self._take()

    def _take(self) -> bytes:
        data = self.buffer.getvalue()[self.sent:]
        self.sent += len(data)
        return data


class Mp3Cache:
    """Whole lines already encoded, by a digest of their PCM: players of one server hear the same lines."""

    def __init__(self, limit_bytes: int = 64 * 1024 * 1024) -> None:
        self.limit = limit_bytes
        self.lock = threading.Lock()  # the server's pool threads
        self.lines: OrderedDict[bytes, bytes] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0

    def get(self, digest: bytes) -> bytes | None:
        with self.lock:
            found = self.lines.get(digest)
            if found is not None:
                self.lines.move_to_end(digest)
                self.hits += 1
            else:
                self.misses += 1
            return found

    def put(self, digest: bytes, encoded: bytes) -> None:
        with self.lock:
            if digest in self.lines:
                return
            self.lines[digest] = encoded
            self.size += len(encoded)
            while self.size > self.limit and len(self.lines) > 1:
                self.size -= len(self.lines.popitem(last=False)[1])
