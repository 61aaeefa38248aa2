"""Fixtures for the browser game's tests; the helpers are in tests/support/serving.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import TOMB
from tests.support.serving import CHROMIUM, Server, serve_config


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(TOMB, serve_config(tmp_path), tmp_path)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"no browser at {CHROMIUM}: 'make test' installs Debian's chromium (apt install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()
