"""The exported web game in tests: `engine export --web`, and a plain static file server (python -m http.server,
no server of ours) that serves it under a prefix."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.common import run_engine
from tests.support.packs import config_for


@dataclass
class Exported:
    story: Path
    work: Path
    config: Path
    web: Path
    printed: str

    @classmethod
    def make(cls, story: Path, work: Path, config: Path, *extra: str, web: Path | None = None) -> Exported:
        """Exports `story` with the pack in work/pack, into `web` (default work/web)."""
        web = web or work / "web"
        done = run_engine("export", story, "--web", web, "--pack", work / "pack", "--config", config, *extra)
        assert done.returncode == 0, done.stdout + done.stderr
        return cls(story, work, config, web, done.stdout)

    @classmethod
    def rendered(cls, story: Path, work: Path) -> Exported:
        """`story` rendered with Piper into work/pack (a repeatable config), then exported into work/web."""
        config = config_for(work)
        done = run_engine("render", story, "--engine", "piper", "--out", work / "pack", "--config", config)
        assert done.returncode == 0, done.stderr
        return cls.make(story, work, config)


class StaticServer:
    """`python -m http.server` on 127.0.0.1 over a folder holding `folder` at `prefix`; `url` is its address."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="static-"))
        (self.root / prefix).parent.mkdir(parents=True, exist_ok=True)
        (self.root / prefix).symlink_to(folder.resolve(), target_is_directory=True)
        self.process = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                                         "--directory", str(self.root)], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 43123 (http://127.0.0.1:43123/) ..."
        assert " port " in first, first
        self.base = f"http://127.0.0.1:{first.split(' port ', 1)[1].split()[0]}/"
        self.url = f"{self.base}{prefix}/"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
