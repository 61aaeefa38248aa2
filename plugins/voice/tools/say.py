"""`engine say`: one line in a character's voice to a WAV file, through the same voices and fallback
as play (`--check`: Whisper hears it back and gives the word error rate)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from engine import Config, SpokenLine, load_story, write_atomic
from engine.core.directions import split_directions
from engine.formats.registry import known_formats
from plugins.voice.casting.assembly import StoryVoices, assemble
from plugins.voice.core.audio import concat, encode, normalize, resample
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import ENGINES, VoiceSettings, voice_settings
from plugins.voice.core.voice import LineSettings
from plugins.voice.engines.base import Engine
from plugins.voice.engines.cloning import CLONING_ENGINES
from plugins.voice.listening.transcriber import Transcriber, word_error_rate, words
from plugins.voice.pipeline.fallback import Fallback


def register(subparsers: Any) -> None:
    say = subparsers.add_parser("say", help="speak one line in a character's voice into a WAV file")
    say.add_argument("text")
    say.add_argument("--story", type=Path, required=True, metavar="DIR")
    say.add_argument("--character", required=True, metavar="ID")
    say.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav")
    say.add_argument("--engine", choices=ENGINES, help="use only this engine (no fallback)")
    say.add_argument("--rate", type=int, metavar="HZ", help="sample rate of the WAV (default: [voice] output_rate)")
    say.add_argument("--check", action="store_true",
                     help="transcribe what was spoken (Faster-Whisper, extra [stt]) and report the word error rate")
    say.add_argument("--max-wer", type=float, default=0.35, metavar="RATE",
                     help="with --check, exit 1 when the word error rate is above this (default 0.35)")
    say.set_defaults(handler=say_command)


def say_command(args: argparse.Namespace, config: Config, pm: Any) -> int:
    settings = voice_settings(config)
    story = load_story(args.story, known_formats(pm))
    if args.character not in story.characters:
        raise VoiceError(f"{args.story} has no character '{args.character}' (known: {', '.join(story.characters)}).")
    voices = assemble(story, settings)
    voices.require()
    engines = voices.engines()
    fallback = Fallback(engines, [] if args.engine else settings.fallback, lambda text: None, reprobe_seconds=0)
    try:
        return _say(args, voices, engines, fallback)
    finally:
        for engine in engines.values():
            engine.close()


def _say(args: argparse.Namespace, voices: StoryVoices, engines: dict[str, Engine], fallback: Fallback) -> int:
    tell = lambda text: print(text, file=sys.stderr)  # noqa: E731
    settings, cast = voices.settings, voices.cast
    directions, text = split_directions(args.text)  # said like a line: "(quietly) Come here." whispers
    acting = cast.directions.of(SpokenLine("say", "say", args.character, args.character, text, False, "", directions))
    if acting.silent or not text:
        raise VoiceError(f"{args.text!r} is {'a sound cue' if acting.silent else 'only a direction'}: nothing to say.")
    preferred = args.engine or cast.voice_for(args.character).engine
    cloning = any(step.engine is not None and step.name in CLONING_ENGINES for step in fallback.plan(preferred).steps)
    if cloning and args.character in voices.needs_seed():  # like play: a missing reference is seeded first
        for result in voices.seed([args.character]):
            tell(f"Seeding {result.voice_id}.wav with Piper: {result.status} {result.detail}".rstrip() + ".")
    cast.check_references(tell)
    voice = cast.voice_for(args.character, acting)
    line = LineSettings(speed=voice.speed, language=voice.language)
    outcome = fallback.attempt(args.engine or voice.engine,
                               lambda engine: list(engine.synthesize(text, voice, line)))
    reasons = [f"{passed.name}: {passed.reason}" for passed in outcome.passed]
    reasons += [f"{name}: not configured" for name in ([args.engine] if args.engine else settings.fallback)
                if name not in engines]  # xtts-remote without a bridge URL
    if outcome.engine is None or not outcome.result:
        raise VoiceError(f"No engine could speak for {args.character}: {'; '.join(reasons)}.")
    audio = concat(outcome.result)
    rate = args.rate or settings.output_rate
    samples = resample(audio.samples, audio.sample_rate, rate)  # polyphase: same pitch and length
    samples = normalize(samples, settings.loudness_dbfs + acting.gain_db, acting.gain_db > 0)  # as loud as in play
    write_atomic(args.output, encode(samples, rate))
    skipped = f" (passed over {'; '.join(reasons)})" if reasons else ""
    print(f"Wrote {args.output}: {audio.seconds:.1f} s at {rate} Hz by {outcome.engine.name}{skipped}.")
    return speech_check(text, samples, rate, settings, args.max_wer) if args.check else 0


def speech_check(text: str, samples: Any, rate: int, settings: VoiceSettings, max_wer: float) -> int:
    """Transcribes synthesized speech and compares it with the text it should say."""
    transcriber = Transcriber(settings.speech_input)
    missing = transcriber.missing()
    if missing:
        raise VoiceError(f"--check: {missing}.")
    started = time.monotonic()
    heard = transcriber.transcribe(samples, rate)
    wer = word_error_rate(text, heard)
    verdict = "ok" if wer <= max_wer else f"FAILED (above {max_wer:.2f})"
    print(f"Heard: {heard!r}")
    print(f"Word error rate {wer:.2f} ({len(words(text))} words; transcribed in {time.monotonic() - started:.1f} s): "
          f"{verdict}")
    return 0 if wer <= max_wer else 1
