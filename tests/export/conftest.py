"""Fixtures for the exported web game: a crypt pack and its export, on a static server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import CRYPT
from tests.support.web import Exported, StaticServer


@pytest.fixture(scope="module")
def crypt(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The crypt rendered with Piper and exported once for the module's tests."""
    return Exported.rendered(CRYPT, tmp_path_factory.mktemp("crypt"))


@pytest.fixture
def hosted(crypt: Exported, tmp_path: Path) -> Iterator[Any]:
    """The crypt's folder on a plain static server, under a prefix (games/crypt/)."""
    server = StaticServer(crypt.web, "games/crypt")
    yield server
    server.stop()
