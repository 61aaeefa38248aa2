"""Builds every engine from its settings."""

from __future__ import annotations

from plugins.voice.engines.base import Engine
from plugins.voice.engines.edge import EdgeEngine
from plugins.voice.engines.pending import PendingEngine
from plugins.voice.engines.piper import PiperEngine
from plugins.voice.settings import VoiceSettings


def build_engines(settings: VoiceSettings) -> dict[str, Engine]:
    return {
        "xtts": PendingEngine("xtts", "XTTS cloning is not in this version yet"),
        "edge": EdgeEngine(settings.edge),
        "piper": PiperEngine(settings.piper),
        "kokoro": PendingEngine("kokoro", "Kokoro is not in this version yet"),
    }
