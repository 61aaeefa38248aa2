"""Fixtures for the browser game's tests; the helpers are in tests/support/serving.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.common import TOMB
from tests.support.serving import Server, serve_config


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(TOMB, serve_config(tmp_path), tmp_path)
    yield running
    running.stop()
