"""Whether requirements.lock was made from pyproject.toml's dependencies as they are now.

`make lock` stamps the lock with a digest of what pyproject.toml asks for (requires-python, the
dependencies and every extra); `.ci/run` checks the stamp before installing, so a dependency changed
without `make lock` stops CI with one sentence instead of installing something nobody locked.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PREFIX = "# pyproject.toml's dependencies: sha256 "


def digest() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def stamped() -> str | None:
    for line in LOCK.read_text().splitlines():
        if line.startswith(PREFIX):
            return line.removeprefix(PREFIX).strip()
    return None


def main(args: list[str]) -> int:
    if args == ["--stamp"]:
        lines = [line for line in LOCK.read_text().splitlines() if not line.startswith(PREFIX)]
        LOCK.write_text("\n".join([lines[0], lines[1], PREFIX + digest(), *lines[2:]]) + "\n")
        return 0
    if stamped() != digest():
        print("requirements.lock is out of date: pyproject.toml's dependencies changed since it was made; run 'make lock'.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
