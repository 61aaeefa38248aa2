"""The [voice] part of config.toml, parsed once into one frozen dataclass per part."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.config import Config
from engine.folders import cache_home, config_home
from engine.tables import above, at_least, between, choice, each_of, read_table, table_of
from plugins.voice.core.acting import Directions, Style
from plugins.voice.core.errors import VoiceConfigError

ENGINES = ("xtts", "pocket", "xtts-remote", "piper", "edge", "kokoro")
CLONING = ("auto", "xtts", "pocket")  # which model clones the characters whose engine is xtts
SINKS = ("simpleaudio", "sounddevice", "null")


DEVICES = ("auto", "cpu", "cuda")
SECONDS = above(0)


@dataclass(frozen=True)
class CacheSettings:
    dir: Path = field(default_factory=lambda: cache_home() / "audio")
    max_mb: float = field(default=500.0, metadata=at_least(0))


@dataclass(frozen=True)
class PiperSettings:
    voices_dir: Path = Path("voices/piper")
    default_voice: str = "en_US-joe-medium"
    noise_scale: float = field(default=0.667, metadata=at_least(0))
    noise_w_scale: float = field(default=0.8, metadata=at_least(0))
    # onnxruntime threads per voice; 0: its default (every core). Render workers use 1.
    threads: int = field(default=0, metadata=at_least(0))


@dataclass(frozen=True)
class EdgeSettings:
    connect_timeout: int = field(default=5, metadata=at_least(1))
    receive_timeout: int = field(default=20, metadata=at_least(1))
    endpoint: str = ""  # another websocket URL (a proxy, or a test server); empty means Microsoft's


@dataclass(frozen=True)
class XttsSettings:
    model_dir: Path = Path("models/xtts_v2")
    device: str = field(default="auto", metadata=choice(*DEVICES))
    fp16: bool = True  # half precision on CUDA
    low_vram: bool = False  # keep the model in RAM, move it to the GPU per line
    low_vram_idle_seconds: float = field(default=5.0, metadata=SECONDS)  # back to RAM after this long without a line
    deepspeed: bool = False  # use DeepSpeed when it is installed (CUDA only)
    # who speaks the lines before the model is ready
    while_loading: str = field(default="fallback", metadata=choice("fallback", "wait"))
    stream_chunk_size: int = field(default=20, metadata=at_least(1))  # GPT tokens per streamed chunk, at most
    first_chunk_tokens: int = field(default=10, metadata=at_least(1))  # GPT tokens before the first sound
    # the GPT's weights on the CPU: int8 (torch) reads a quarter of the bytes per token, int4 (ONNX Runtime)
    # an eighth (auto: int4, or int8 without the onnx package)
    cpu_quantize: str = field(default="auto", metadata=choice("auto", "off", "int8", "int4"))
    # the decoder on the CPU: bf16 weights and activations (auto: bf16 where the CPU has AMX, 2-3x faster there)
    cpu_decoder: str = field(default="auto", metadata=choice("auto", "fp32", "bf16"))
    # torch threads on the CPU; 0: torch's default (every core)
    cpu_threads: int = field(default=0, metadata=at_least(0))
    temperature: float = field(default=0.75, metadata=above(0))
    # a cap on GPT audio tokens per word (21.5 a second); 0: the model's 605
    max_audio_tokens_per_word: float = field(default=0.0, metadata=at_least(0))
    latents_dir: Path = field(default_factory=lambda: cache_home() / "xtts-latents")
    graphs_dir: Path = field(default_factory=lambda: cache_home() / "xtts-graphs")  # the GPT's 4-bit graph, kept


@dataclass(frozen=True)
class PocketSettings:
    """Pocket TTS (extra [pocket]): cloning on the CPU. One installed model per language, model_dir/<language>."""

    model_dir: Path = Path("models/pocket")
    # the transformer's linear layers in int8 (torch's dynamic quantization): 2.5x faster per frame here
    int8: bool = True
    temperature: float = field(default=0.3, metadata=above(0))  # the model's own default
    eos_threshold: float = -4.0  # the model's own default: a frame whose end-of-speech logit passes it ends the line
    # a cap on frames per word (12.5 a second) against a take that never ends; 0: the model's own estimate
    max_frames_per_word: float = field(default=8.0, metadata=at_least(0))
    # torch threads; 0: torch's default (every core)
    threads: int = field(default=0, metadata=at_least(0))
    states_dir: Path = field(default_factory=lambda: cache_home() / "pocket-voices")  # each voice's prompt state


@dataclass(frozen=True)
class KokoroSettings:
    model_dir: Path = Path("models/kokoro")  # an installed model; while empty, the one the [kokoro] extra bundles
    default_voice: str = ""  # empty: each character gets a distinct voice from the voices file


@dataclass(frozen=True)
class SpeechInputSettings:
    """Speaking your choices (extra [stt]): Faster-Whisper, offline."""

    enabled: bool = False  # the same as `engine play --speech-input`
    model_dir: Path = Path("models/whisper")  # an installed model; while empty, the one the [stt] extra bundles
    language: str = "en"
    device: str = field(default="cpu", metadata=choice(*DEVICES))
    compute_type: str = "int8"
    input_device: str = ""  # microphone name or number (python -m sounddevice lists them); empty: the default
    silence_seconds: float = field(default=0.8, metadata=SECONDS)  # this much quiet after speech ends an answer
    max_seconds: float = field(default=8.0, metadata=SECONDS)  # an answer is cut here


@dataclass(frozen=True)
class BridgeSettings:
    """`engine bridge serve` (the GPU box side)."""

    host: str = "127.0.0.1"
    port: int = field(default=8020, metadata=between(1, 65535))
    token_env: str = "VOICED_IF_BRIDGE_TOKEN"
    token_file: Path = field(default_factory=lambda: config_home() / "bridge_token")
    voices_dir: Path = field(default_factory=lambda: cache_home() / "bridge-voices")
    max_queue: int = field(default=4, metadata=at_least(1))


@dataclass(frozen=True)
class XttsRemoteSettings:
    """The `xtts-remote` engine (the laptop side): empty `urls` means it is not used."""

    urls: tuple[str, ...] = ()
    token_env: str = "VOICED_IF_BRIDGE_TOKEN"
    connect_timeout: float = field(default=3.0, metadata=SECONDS)
    read_timeout: float = field(default=30.0, metadata=SECONDS)


@dataclass(frozen=True)
class PrefetchSettings:
    enabled: bool = True
    depth: int = field(default=12, metadata=at_least(0))  # lines queued ahead at most
    # prefetch threads for CPU engines (XTTS serializes per model anyway)
    workers: int = field(default=1, metadata=at_least(1))


@dataclass(frozen=True)
class StallSettings:
    """How long a silence may last before the line goes to the next engine (pipeline/patience.py)."""

    # inside a line: seconds a chunk may be late beyond the audio already queued
    grace: float = field(default=1.5, metadata=SECONDS)
    # from the line's turn to the first audio of edge, xtts-remote
    first_network: float = field(default=3.0, metadata=SECONDS)
    # ... of a model on this machine (XTTS; more when it is measured slower than speech)
    first_local: float = field(default=6.0, metadata=SECONDS)
    # a line made ahead: seconds without a chunk before its stream is cancelled
    prefetch: float = field(default=10.0, metadata=SECONDS)


@dataclass(frozen=True)
class RenderSettings:
    format: str = field(default="opus", metadata=choice("opus", "flac"))  # small, for players; or lossless
    # choice points a render walks at most (stories with loops)
    max_states: int = field(default=20_000, metadata=at_least(1))


@dataclass(frozen=True)
class QualitySettings:
    """The quality gate (extra [quality]): every take is heard again before it is kept."""

    play: bool = False  # check lines made during play (in the prefetch threads), so the next replay is good
    render: bool = True  # check every take of `engine render`
    # takes made after a failed first one (engines whose takes differ); the best is kept
    retries: int = field(default=2, metadata=at_least(0))
    # one word added or missing allowed per this many words (at least one)
    words_per_error: int = field(default=10, metadata=at_least(1))
    # letters heard wrong (babble); words misheard by the small recognizer stay under it
    max_cer: float = field(default=0.4, metadata=between(0.01, 1))
    base_seconds: float = 1.5  # longer than base + per word: a hallucinated tail
    seconds_per_word: float = 0.75
    min_seconds_per_word: float = 0.1  # shorter: cut off
    tail_db: float = -45.0  # the last 10 ms louder than this, relative to the line: cut mid-word
    speaker: bool = True  # speaker similarity to the character's reference (resemblyzer)
    min_margin: float = 0.0  # own reference's similarity minus the nearest other character's, at least


@dataclass(frozen=True)
class VoiceSettings:
    voices_dir: Path = Path("voices")
    engine: str = field(default="xtts", metadata=choice(*ENGINES))  # for profiles that name none
    # which model clones the characters whose engine is xtts: auto = Pocket on a machine with no CUDA GPU
    # and no bridge when its model is installed, else XTTS (engines/cloning.py)
    cloning: str = field(default="auto", metadata=choice(*CLONING))
    fallback: tuple[str, ...] = field(default=("xtts", "pocket", "xtts-remote", "edge", "piper"),
                                      metadata=each_of(*ENGINES))
    sink: str = field(default="simpleaudio", metadata=choice(*SINKS))
    output_rate: int = field(default=24000, metadata=between(8000, 192000))
    loudness_dbfs: float = field(default=-20.0, metadata=between(-60, 0))
    line_gap: float = field(default=0.3, metadata=at_least(0))  # silence between lines in --record
    reprobe_seconds: float = field(default=20.0, metadata=at_least(0))  # 0: at once
    # an engine slower than speech: adapt (whole lines, narration on piper) | stream
    when_slow: str = field(default="adapt", metadata=choice("adapt", "stream"))
    auto_seed: bool = True  # seed missing reference WAVs with Piper before play
    checked_dir: Path = field(default_factory=lambda: cache_home() / "references")  # checked copies of them
    cache: CacheSettings = field(default_factory=CacheSettings)
    prefetch: PrefetchSettings = field(default_factory=PrefetchSettings)
    piper: PiperSettings = field(default_factory=PiperSettings)
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    xtts: XttsSettings = field(default_factory=XttsSettings)
    pocket: PocketSettings = field(default_factory=PocketSettings)
    kokoro: KokoroSettings = field(default_factory=KokoroSettings)
    speech_input: SpeechInputSettings = field(default_factory=SpeechInputSettings)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    xtts_remote: XttsRemoteSettings = field(default_factory=XttsRemoteSettings)
    render: RenderSettings = field(default_factory=RenderSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    stall: StallSettings = field(default_factory=StallSettings)
    pack: str = ""  # a voice pack to play from (engine render), relative to config.toml; "" for none
    # acting (core/acting.py): direction -> emotion, "" or "silent"; qualifier -> effect; an emotion's style
    directions: dict[str, str] = field(default_factory=dict, metadata=table_of(str))
    qualifiers: dict[str, str] = field(default_factory=dict, metadata=table_of(str))
    emotions: dict[str, Style] = field(default_factory=dict, metadata=table_of(Style))

    def acting(self) -> Directions:
        return Directions(self.directions, self.qualifiers, self.emotions)


def voice_settings(config: Config) -> VoiceSettings:
    """Reads the plugin's own table, [voice] (with [voice.cache], [voice.piper], ...), checked like every
    table (engine/tables.py); relative paths are relative to config.toml's folder."""
    settings: VoiceSettings = read_table(VoiceSettings, config.table("voice"), config.folder, "voice", VoiceConfigError)
    problems = settings.acting().problems()
    if problems:
        raise VoiceConfigError(f"{problems[0]}.")
    return settings
