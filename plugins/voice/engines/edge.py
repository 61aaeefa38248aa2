"""edge-tts: Microsoft's online neural voices (needs the network)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

from plugins.voice.core.audio import AudioChunk, decode
from plugins.voice.core.budget import Budget
from plugins.voice.core.errors import EngineUnavailable, SpeechFailure, SynthesisFailed
from plugins.voice.core.settings import EdgeSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.acting import Delivery, acted, delivery
from plugins.voice.engines.aio import NetworkLoop
from plugins.voice.engines.base import EngineBase

# Distinct defaults for characters whose profile names no edge voice.
DEFAULT_VOICES = [
    "en-US-GuyNeural", "en-US-JennyNeural", "en-GB-RyanNeural", "en-GB-SoniaNeural", "en-US-AriaNeural",
    "en-US-ChristopherNeural", "en-AU-NatashaNeural", "en-AU-WilliamNeural", "en-US-EricNeural",
    "en-GB-LibbyNeural", "en-IE-ConnorNeural", "en-US-MichelleNeural",
]


def _microsoft() -> str:
    try:
        from edge_tts.constants import WSS_URL
    except ImportError:
        return ""
    return str(WSS_URL)


MICROSOFT = _microsoft()  # edge-tts's own endpoint, as it ships
HZ_PER_SEMITONE = 9  # an emotion's pitch, in semitones, as edge's prosody takes it (about a speaking voice's)


class EdgeEngine(EngineBase):
    name = "edge"
    native_pitch = True  # prosody pitch, in Hz
    pausable = False
    network = True

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.loop = NetworkLoop(self.name)  # its requests run there, so a stalled one can be cancelled

    def missing(self) -> str | None:
        try:
            import edge_tts  # noqa: F401
        except ImportError:
            return "edge-tts is not installed (pip install edge-tts)"
        return None

    def probe(self) -> str | None:
        try:
            self._fetch("Hello.", DEFAULT_VOICES[0], "+0%")
        except SpeechFailure as exc:
            return exc.reason
        return None

    def voice_name(self, voice: Voice) -> str:
        return voice.names.get("edge") or DEFAULT_VOICES[voice.variant % len(DEFAULT_VOICES)]

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        pass

    def close(self) -> None:
        self.loop.close()

    def identity(self, voice: Voice) -> str:
        return f"edge:{self.voice_name(voice)}"

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        plan = delivery(self, voice, settings.speed)
        return acted(self._speak(text, voice, settings, plan), plan)

    def _speak(self, text: str, voice: Voice, settings: LineSettings, plan: Delivery) -> Iterator[AudioChunk]:
        rate = f"{round((plan.speed - 1.0) * 100):+d}%"
        pitch = f"{round(plan.native_pitch * HZ_PER_SEMITONE):+d}Hz"
        mp3 = self._fetch(text, self.voice_name(voice), rate, settings.budget, pitch)
        try:
            audio = decode(mp3)
        except RuntimeError as exc:  # libsndfile's error
            raise SynthesisFailed(self.name, f"its audio could not be decoded ({exc})") from exc
        yield audio

    def _fetch(self, text: str, voice_name: str, rate: str, budget: Budget | None = None,
               pitch: str = "+0Hz") -> bytes:
        """Runs one edge-tts request on the engine's loop and returns the MP3; every failure means
        'unavailable'. A reader that runs out of patience (Stalled) gets its websocket closed at once."""
        import aiohttp
        import edge_tts
        from edge_tts import communicate

        # edge-tts reads its endpoint from a module global and takes no URL argument: set it for every
        # request, this engine's own or Microsoft's, so no engine inherits another one's setting.
        communicate.WSS_URL = self.settings.endpoint or MICROSOFT
        tts = edge_tts.Communicate(text, voice_name, rate=rate, pitch=pitch, connect_timeout=self.settings.connect_timeout,
                                   receive_timeout=self.settings.receive_timeout)

        async def collect() -> bytes:
            audio = bytearray()
            messages = tts.stream()
            while True:  # edge-tts has no timeout between websocket messages: bound each wait
                try:
                    message = await asyncio.wait_for(anext(messages), self.settings.receive_timeout)
                except StopAsyncIteration:
                    break
                if message["type"] == "audio":
                    audio += message["data"]
            # edge-tts counts audio bytes only when a turn ends properly ("turn.end"); a connection
            # dropped mid-line leaves them short, while edge-tts itself returns quietly.
            if tts.state.get("cumulative_audio_bytes") != len(audio):
                raise SynthesisFailed(self.name, "the speech service broke off in the middle of the line")
            return bytes(audio)

        try:
            return self.loop.run(collect(), budget)
        except aiohttp.ClientResponseError as exc:
            raise EngineUnavailable(self.name, f"Microsoft refused the connection (HTTP {exc.status})") from None
        except TimeoutError:
            raise EngineUnavailable(self.name, "the speech service timed out") from None
        except aiohttp.ClientConnectorDNSError:
            raise EngineUnavailable(self.name, "offline (cannot resolve Microsoft's speech service)") from None
        except (OSError, aiohttp.ClientError) as exc:
            raise EngineUnavailable(self.name, f"cannot reach the speech service ({type(exc).__name__})") from None
        except edge_tts.exceptions.EdgeTTSException as exc:
            raise SynthesisFailed(self.name, f"the speech service broke off ({type(exc).__name__})") from None
