"""Fixtures for every test; the helpers they share are in tests/support/common.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import plugins.voice  # noqa: F401 - as in a game, OpenMP's threads sleep when idle: set before any test loads torch
from tests.support.common import INK_FIXTURES, compile_ink


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
