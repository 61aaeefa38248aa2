"""Fixtures for every test; the helpers they share are in tests/support/common.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import plugins.voice  # noqa: F401 - as in a game, OpenMP's threads sleep when idle: set before any test loads torch
from tests.support.common import CACHE, INK_FIXTURES, compile_ink
from tests.support.serving import CHROMIUM


@pytest.fixture(autouse=True, scope="session")
def private_cache() -> Iterator[None]:
    """Settings' default cache folders (audio, latents, the XTTS graph, Pocket's voice states) are the session's
    own, not ~/.cache/voiced-if: no test reads what another run left there. (Games in child processes get the
    same folder through engine_env.)"""
    import plugins.voice.core.settings as settings

    real = settings.cache_home
    settings.cache_home = lambda: CACHE / "voiced-if"  # type: ignore[assignment]
    yield
    settings.cache_home = real  # type: ignore[assignment]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config with saves in a temporary folder and no voice plugin (engine-only tests)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n\n[plugins]\ndisabled = ["voice"]\n', encoding="utf-8"
    )
    return path


@pytest.fixture
def ink_story(tmp_path: Path) -> Callable[[str], Path]:
    """Copies tests/engine/ink/<name> to a temporary folder and compiles its story.ink there."""

    def make(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(INK_FIXTURES / name, folder)
        compile_ink(folder / "story.ink", folder / "story.ink.json")
        return folder

    return make


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, one per test worker for every browser test (engine serve's page, the exported
    game): Playwright's sync API allows one running at a time in a process."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"no browser at {CHROMIUM}: 'make test' installs Debian's chromium (apt install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()
