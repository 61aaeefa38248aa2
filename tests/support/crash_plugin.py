"""A plugin with a bug in a thread of its own (loaded through `[plugins] modules`): the thread fails
while the story is loaded, before the first line."""

from __future__ import annotations

import threading

from engine import PlayContext, hookimpl


def _work() -> None:
    raise ValueError("a bug in a plugin's thread")


@hookimpl
def engine_story_loaded(context: PlayContext) -> None:
    thread = threading.Thread(target=_work, name="crash-test")
    thread.start()
    thread.join()
