"""Who may use our servers: the kept token (the same rule for `engine serve` and `engine bridge serve`)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from engine.access import is_loopback, kept_token, token_matches


def test_a_new_token_is_readable_by_its_owner_only_from_its_first_byte(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config" / "token"
    modes: list[int] = []
    real_replace, real_fchmod = os.replace, os.fchmod

    def replace(source: str, target: str) -> None:  # the token, whole, before it is renamed into place
        modes.append(stat.S_IMODE(os.stat(source).st_mode))
        real_replace(source, target)

    def fchmod(fd: int, mode: int) -> None:  # never widened, not even for a moment
        modes.append(mode)
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fchmod", fchmod)
    token, new = kept_token(path)
    monkeypatch.undo()
    assert new and len(token) >= 32 and modes == [0o600]  # made 0600 (mkstemp), written, renamed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kept_token(path) == (token, False)  # kept: the same token at the next start
    assert [p.name for p in path.parent.iterdir()] == ["token"]  # no temporary file left beside it


def test_the_environment_comes_before_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "from-the-environment")
    assert kept_token(tmp_path / "token", "MY_TOKEN") == ("from-the-environment", False)
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize("given", ["wrong", "", None, "é", "\udcff", "x" * 10_000])
def test_any_text_a_client_sends_is_compared_without_error(given: str | None) -> None:
    assert token_matches(given, "s3cret") is False


def test_the_right_token_matches() -> None:
    assert token_matches("s3cret", "s3cret")


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("192.168.1.2", False),
                                                ("example.org", False)])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_two_first_starts_at_once_leave_one_whole_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(kept_token(path)[0])) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert path.read_text() in found and len(path.read_text()) >= 32
