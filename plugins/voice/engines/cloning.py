"""Which model clones the characters whose engine is `xtts` (every character of a story written for cloned
voices): `[voice] cloning`. A profile that names `pocket` keeps Pocket TTS whatever the rule says.

`auto`: Pocket TTS on a machine with no CUDA GPU and no bridge, when its extra and a model are installed: it
keeps ahead of speech on two cores (RTF ~0.3), where XTTS on a CPU is at the edge of real time or behind
it and takes 5-10 s to load. With a GPU or a bridge XTTS stays first: fast there, and it speaks 17 languages.
`xtts` or `pocket` pick one whatever the machine. The other model stays in the fallback order.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from plugins.voice.core.settings import VoiceSettings
from plugins.voice.engines.models import installed
from plugins.voice.engines.pocket.loading import LANGUAGES

CLONING_ENGINES = ("xtts", "pocket")


@dataclass(frozen=True)
class Choice:
    engine: str  # "xtts" or "pocket"
    reason: str  # one clause, for `engine voices` and the trace


def cloning_engine(settings: VoiceSettings) -> Choice:
    if settings.cloning != "auto":
        return Choice(settings.cloning, "set by [voice] cloning")
    if settings.xtts_remote.urls:
        return Choice("xtts", "a bridge is configured ([voice.xtts_remote] urls)")
    if importlib.util.find_spec("pocket_tts") is None:
        return Choice("xtts", "the [pocket] extra is not installed")
    if not any(installed(settings.pocket.model_dir / code) for code in LANGUAGES):
        return Choice("xtts", f"no Pocket TTS model in {settings.pocket.model_dir}")
    if settings.xtts.device != "cpu" and _has_cuda():
        return Choice("xtts", "this machine has a CUDA GPU")
    return Choice("pocket", "no CUDA GPU or bridge here, and Pocket TTS runs several times faster than speech on a CPU")


def _has_cuda() -> bool:
    import torch  # the [pocket] extra brings it

    return bool(torch.cuda.is_available())
