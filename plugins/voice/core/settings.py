"""The [voice] part of config.toml, parsed once into one frozen dataclass per part."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import Config
from plugins.voice.core.errors import VoiceConfigError

ENGINES = ("xtts", "xtts-remote", "piper", "edge", "kokoro")
SINKS = ("simpleaudio", "sounddevice", "null")


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voiced-if"


@dataclass(frozen=True)
class CacheSettings:
    dir: Path = field(default_factory=lambda: _cache_home() / "audio")
    max_mb: float = 500.0


@dataclass(frozen=True)
class PiperSettings:
    voices_dir: Path = Path("voices/piper")
    default_voice: str = "en_US-joe-medium"
    noise_scale: float = 0.667
    noise_w_scale: float = 0.8
    threads: int = 0  # onnxruntime threads per voice; 0: its default (every core). Render workers use 1.


@dataclass(frozen=True)
class EdgeSettings:
    connect_timeout: int = 5
    receive_timeout: int = 20
    endpoint: str = ""  # another websocket URL (a proxy, or a test server); empty means Microsoft's


@dataclass(frozen=True)
class XttsSettings:
    model_dir: Path = Path("models/xtts_v2")
    device: str = "auto"  # auto | cpu | cuda
    fp16: bool = True  # half precision on CUDA
    low_vram: bool = False  # keep the model in RAM, move it to the GPU per line
    low_vram_idle_seconds: float = 5.0  # back to RAM after this long without a line
    deepspeed: bool = False  # use DeepSpeed when it is installed (CUDA only)
    while_loading: str = "fallback"  # fallback | wait: who speaks the lines before the model is ready
    stream_chunk_size: int = 20  # GPT tokens per streamed chunk
    temperature: float = 0.75
    max_audio_tokens_per_word: float = 0.0  # a cap on GPT audio tokens per word (21.5 a second); 0: the model's 605
    latents_dir: Path = field(default_factory=lambda: _cache_home() / "xtts-latents")


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
    device: str = "cpu"  # cpu | cuda | auto
    compute_type: str = "int8"
    input_device: str = ""  # microphone name or number (python -m sounddevice lists them); empty: the default
    silence_seconds: float = 0.8  # this much quiet after speech ends an answer
    max_seconds: float = 8.0  # an answer is cut here


@dataclass(frozen=True)
class BridgeSettings:
    """`engine bridge serve` (the GPU box side)."""

    host: str = "127.0.0.1"
    port: int = 8020
    token_env: str = "VOICED_IF_BRIDGE_TOKEN"
    token_file: Path = field(default_factory=lambda: Path.home() / ".config" / "voiced-if" / "bridge_token")
    voices_dir: Path = field(default_factory=lambda: _cache_home() / "bridge-voices")
    max_queue: int = 4


@dataclass(frozen=True)
class XttsRemoteSettings:
    """The `xtts-remote` engine (the laptop side): empty `urls` means it is not used."""

    urls: tuple[str, ...] = ()
    token_env: str = "VOICED_IF_BRIDGE_TOKEN"
    connect_timeout: float = 3.0
    read_timeout: float = 30.0


@dataclass(frozen=True)
class PrefetchSettings:
    enabled: bool = True
    depth: int = 12  # lines queued ahead at most
    workers: int = 1  # prefetch threads for CPU engines (XTTS serializes per model anyway)


@dataclass(frozen=True)
class StallSettings:
    """How long a silence may last before the line goes to the next engine (pipeline/patience.py)."""

    grace: float = 1.5  # inside a line: seconds a chunk may be late beyond the audio already queued
    first_network: float = 3.0  # from the line's turn to the first audio of edge, xtts-remote
    first_local: float = 6.0  # ... of a model on this machine (XTTS; more when it is measured slower than speech)
    prefetch: float = 10.0  # a line made ahead: seconds without a chunk before its stream is cancelled


@dataclass(frozen=True)
class RenderSettings:
    format: str = "opus"  # opus (small, for players) or flac (lossless)
    max_states: int = 20_000  # choice points a render walks at most (stories with loops)


@dataclass(frozen=True)
class QualitySettings:
    """The quality gate (extra [quality]): every take is heard again before it is kept."""

    play: bool = False  # check lines made during play (in the prefetch threads), so the next replay is good
    render: bool = True  # check every take of `engine render`
    retries: int = 2  # takes made after a failed first one (engines whose takes differ); the best is kept
    words_per_error: int = 10  # one word added or missing allowed per this many words (at least one)
    max_cer: float = 0.4  # letters heard wrong (babble); words misheard by the small recognizer stay under it
    base_seconds: float = 1.5  # longer than base + per word: a hallucinated tail
    seconds_per_word: float = 0.75
    min_seconds_per_word: float = 0.1  # shorter: cut off
    tail_db: float = -45.0  # the last 10 ms louder than this, relative to the line: cut mid-word
    speaker: bool = True  # speaker similarity to the character's reference (resemblyzer)
    min_margin: float = 0.0  # own reference's similarity minus the nearest other character's, at least


@dataclass(frozen=True)
class VoiceSettings:
    voices_dir: Path = Path("voices")
    engine: str = "xtts"  # for profiles that name none
    fallback: tuple[str, ...] = ("xtts", "xtts-remote", "edge", "piper")
    sink: str = "simpleaudio"
    output_rate: int = 24000
    loudness_dbfs: float = -20.0
    line_gap: float = 0.3  # silence between lines in --record
    reprobe_seconds: float = 20.0
    when_slow: str = "adapt"  # an engine slower than speech: adapt (whole lines, narration on piper) | stream
    auto_seed: bool = True  # seed missing reference WAVs with Piper before play
    checked_dir: Path = field(default_factory=lambda: _cache_home() / "references")  # checked copies of them
    cache: CacheSettings = field(default_factory=CacheSettings)
    prefetch: PrefetchSettings = field(default_factory=PrefetchSettings)
    piper: PiperSettings = field(default_factory=PiperSettings)
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    xtts: XttsSettings = field(default_factory=XttsSettings)
    kokoro: KokoroSettings = field(default_factory=KokoroSettings)
    speech_input: SpeechInputSettings = field(default_factory=SpeechInputSettings)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    xtts_remote: XttsRemoteSettings = field(default_factory=XttsRemoteSettings)
    render: RenderSettings = field(default_factory=RenderSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    stall: StallSettings = field(default_factory=StallSettings)
    pack: str = ""  # a voice pack to play from (engine render), relative to config.toml; "" for none


def voice_settings(config: Config) -> VoiceSettings:
    """Reads the plugin's own table, [voice] (with [voice.cache], [voice.piper], ...);
    relative paths are relative to config.toml's folder."""
    settings = _build(VoiceSettings, dict(config.table("voice")), config.folder, "voice")
    if settings.engine not in ENGINES:
        raise VoiceConfigError(f"[voice] engine must be one of {', '.join(ENGINES)}, not {settings.engine!r}.")
    unknown = [name for name in settings.fallback if name not in ENGINES]
    if unknown or not settings.fallback:
        raise VoiceConfigError(f"[voice] fallback lists engines from {', '.join(ENGINES)}; {unknown} is not one.")
    if settings.xtts.device not in ("auto", "cpu", "cuda") or settings.xtts.while_loading not in ("fallback", "wait"):
        raise VoiceConfigError("[voice.xtts] device is auto, cpu or cuda; while_loading is fallback or wait.")
    if settings.speech_input.device not in ("auto", "cpu", "cuda"):
        raise VoiceConfigError("[voice.speech_input] device is auto, cpu or cuda.")
    if settings.render.format not in ("opus", "flac"):
        raise VoiceConfigError(f"[voice.render] format must be opus or flac, not {settings.render.format!r}.")
    quality = settings.quality
    if quality.retries < 0 or quality.words_per_error < 1 or not 0 < quality.max_cer <= 1:
        raise VoiceConfigError("[voice.quality] retries is 0 or more, words_per_error 1 or more, max_cer in (0, 1].")
    stall = settings.stall
    if min(stall.grace, stall.first_network, stall.first_local, stall.prefetch) <= 0:
        raise VoiceConfigError("[voice.stall] grace, first_network, first_local and prefetch are seconds above 0.")
    if settings.when_slow not in ("adapt", "stream"):
        raise VoiceConfigError(f"[voice] when_slow is adapt or stream, not {settings.when_slow!r}.")
    if settings.sink not in SINKS:
        raise VoiceConfigError(f"[voice] sink must be one of {', '.join(SINKS)}, not {settings.sink!r}.")
    return settings


def _build(cls: Any, table: Any, base: Path, where: str) -> Any:
    if not isinstance(table, dict):
        raise VoiceConfigError(f"[{where}] in config.toml must be a table.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise VoiceConfigError(f"[{where}] has unknown keys {unknown}; known: {sorted(fields)}.")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, value in table.items():
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            values[name] = _build(type(default), value, base, f"{where}.{name}")
        elif isinstance(default, Path):
            values[name] = base / Path(os.path.expanduser(str(value)))
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise VoiceConfigError(f"[{where}] {name} must be a list of names.")
            values[name] = tuple(value)
        elif not _same_kind(value, default):
            kind = {int: "whole number", float: "number", str: "string"}.get(type(default), type(default).__name__)
            raise VoiceConfigError(f"[{where}] {name} must be a {kind}, not {value!r}.")
        else:
            values[name] = type(default)(value)
    for name, default in vars(defaults).items():
        if isinstance(default, Path) and name not in values and not default.is_absolute():
            values[name] = base / default
    return cls(**values)


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))
