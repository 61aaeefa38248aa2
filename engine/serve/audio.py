"""A line's audio for browsers: MP3 (MPEG Layer III), the one compressed codec every current browser plays,
iOS Safari of every version included (Opus is not); encoded by libsndfile's LAME as the PCM arrives, so a
line still being made streams. About 70 kbit/s for a voice at 22-24 kHz (a sixth of 16-bit WAV)."""

from __future__ import annotations

import io

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
