"""Who may use a server of ours (`engine serve`, `engine bridge serve`): loopback addresses, the token kept in a
file, and comparing a token that a client sent."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from engine.core.files import write_atomic


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1, localhost): such a server needs no token."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kept_token(path: Path, env: str | None = None) -> tuple[str, bool]:
    """The token in $`env`, else the one kept at `path`, else a new one written there (readable by its owner
    only, from its first byte). Returns it, and whether it is new (to be shown once)."""
    given = os.environ.get(env) if env else None
    if given:
        return given, False
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    token = secrets.token_urlsafe(32)
    write_atomic(path, token.encode(), mode=0o600)
    return token, True


def token_matches(given: str | None, token: str) -> bool:
    """A constant-time comparison of what a client sent (any text, or nothing) with the token."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())
