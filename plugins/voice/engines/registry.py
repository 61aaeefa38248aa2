"""Builds every engine from its settings."""

from __future__ import annotations

import logging

from plugins.voice.core.settings import VoiceSettings
from plugins.voice.engines.base import Engine, EngineEvents, log_event
from plugins.voice.engines.edge import EdgeEngine
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.piper.styles import PiperStyle
from plugins.voice.engines.pocket.engine import PocketEngine
from plugins.voice.engines.xtts.engine import XttsEngine
from plugins.voice.engines.xtts_remote import XttsRemoteEngine

log = logging.getLogger(__name__)


def build_engines(settings: VoiceSettings, events: EngineEvents = log_event,
                  piper_styles: dict[str, PiperStyle] | None = None) -> dict[str, Engine]:
    engines: dict[str, Engine] = {
        "xtts": XttsEngine(settings.xtts, events),
        "pocket": PocketEngine(settings.pocket, events),
        "edge": EdgeEngine(settings.edge),
        "piper": PiperEngine(settings.piper, piper_styles),
        "kokoro": KokoroEngine(settings.kokoro),
    }
    if settings.xtts_remote.urls:  # only when a bridge is configured; otherwise it is not in the chain at all
        engines["xtts-remote"] = XttsRemoteEngine(settings.xtts_remote)
    return engines
