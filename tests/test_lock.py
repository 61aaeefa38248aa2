"""The venv holds exactly what requirements.lock pins: `make test` installs through the lock, and the lock is
made from pyproject.toml as it is now (.ci/lock.py's stamp)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked() -> dict[str, str]:
    """Every package the lock pins for this Python and platform."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def installed() -> dict[str, str]:
    """What pip installed into the venv (not what an import put on sys.path: setuptools' vendored packages)."""
    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    found: dict[str, str] = {canonicalize_name(dist.metadata["Name"]): dist.version
                             for dist in importlib.metadata.distributions(path=folders)}
    found.pop("voiced-if")
    return found


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    pins, found = locked(), installed()
    assert len(pins) > 150  # every extra's packages, transitive ones included
    assert {name: version for name, version in found.items() if pins.get(name) != version} == {}
    assert sorted(set(pins) - set(found)) == []


def test_the_lock_was_made_from_pyproject_as_it_is() -> None:
    result = subprocess.run([sys.executable, ROOT / ".ci" / "lock.py"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_a_changed_dependency_without_a_new_lock_stops_ci_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "lock.py").write_text((ROOT / ".ci" / "lock.py").read_text())
    (tmp_path / "requirements.lock").write_text((ROOT / "requirements.lock").read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject.replace('"rich>=13"', '"rich>=14"'))
    result = subprocess.run([sys.executable, tmp_path / ".ci" / "lock.py"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines() == [
        "requirements.lock is out of date: pyproject.toml's dependencies changed since it was made; run 'make lock'."]
    (tmp_path / "pyproject.toml").write_text(pyproject.replace("[tool.ruff]", "[tool.ruff]\nfix = false"))
    assert subprocess.run([sys.executable, tmp_path / ".ci" / "lock.py"], timeout=60).returncode == 0  # not a dependency
