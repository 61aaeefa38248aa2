"""A render joining a running Ray cluster, as the README's cluster section does it: a token made with
`ray get-auth-token --generate`, a head from `ray start --head`, a second node from `ray start --address`, then
`engine render --ray ADDRESS`. Both nodes run on this machine (one CPU each, so the render's two workers
need the second node), under a home of their own, with Ray's files in a folder of their own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.common import CRYPT, ROOT, engine_env
from tests.support.net import free_port
from tests.support.packs import assert_pack_is_whole, config_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
RAY = str(Path(sys.executable).with_name("ray"))


def ray_env(home: Path, **extra: str) -> dict[str, str]:
    env = engine_env(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", **extra)
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        env.pop(name, None)
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """`ray start ... --block`: the node stays this child's, which stops every process of it when terminated."""
    return subprocess.Popen([RAY, "start", *args, "--block"], env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(node: subprocess.Popen[str]) -> str:
    if node.poll() is None:
        os.killpg(node.pid, signal.SIGTERM)
        try:
            node.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait(timeout=30)
    return node.stdout.read() if node.stdout else ""


def wait_for_cpus(address: str, cpus: int, env: dict[str, str]) -> None:
    """Until the cluster counts `cpus` CPUs (a node joins within seconds; 180 s on a machine busy with tests)."""
    script = f"import ray; ray.init(address={address!r}, log_to_driver=False); print(ray.cluster_resources())"
    seen = ""
    for _ in range(60):
        probe = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        seen = probe.stdout + probe.stderr[-400:]
        if f"'CPU': {float(cpus)}" in probe.stdout:
            return
        time.sleep(3)
    pytest.fail(f"the cluster never had {cpus} CPUs: {seen}")


def render(address: str, folder: Path, config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "render", str(CRYPT), "--engine", "piper", "--ray", address,
                           "--out", str(folder), "--format", "flac", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "home"
    home.mkdir()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths live under it
    made = subprocess.run([RAY, "get-auth-token", "--generate"], env=ray_env(home), capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0 and (home / ".ray" / "auth_token").is_file(), made.stderr
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = start(["--head", "--port", str(port), "--num-cpus", "1", "--temp-dir", str(temp),
                  "--include-dashboard", "false"], ray_env(home))
    worker = None
    try:
        wait_for_cpus(address, 1, ray_env(home, RAY_AUTH_MODE="token"))
        worker = start(["--address", address, "--num-cpus", "1"], ray_env(home, RAY_AUTH_MODE="token"))
        wait_for_cpus(address, 2, ray_env(home, RAY_AUTH_MODE="token"))
        yield address, home
    finally:
        logs = [stop(node) for node in (worker, head) if node is not None]
        shutil.rmtree(temp, ignore_errors=True)
        leftover = subprocess.run(["pgrep", "-f", str(temp)], capture_output=True, text=True).stdout
        assert not leftover.strip(), f"Ray processes left running: {leftover}\n{logs}"


def test_a_render_joins_a_cluster_with_token_authentication_and_uses_both_nodes(tmp_path: Path,
                                                                                  cluster: tuple[str, Path]) -> None:
    address, home = cluster
    folder = tmp_path / "pack"
    # no RAY_AUTH_MODE here: the token in ~/.ray/auth_token is what a head started with it requires
    rendered = render(address, folder, config_for(tmp_path), ray_env(home))
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert "on 2 worker(s)" in rendered.stdout  # one per node: the second node took part
    manifest = assert_pack_is_whole(folder)
    assert len(manifest.entries) == 9


def test_joining_a_cluster_without_its_token_is_one_sentence_that_says_where_the_token_goes(
        tmp_path: Path, cluster: tuple[str, Path]) -> None:
    address, _ = cluster
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    refused = render(address, tmp_path / "pack", config_for(tmp_path), ray_env(stranger, RAY_AUTH_MODE="token"))
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert f"Cannot join the Ray cluster at {address}" in refused.stdout + refused.stderr
    assert "auth_token" in refused.stdout + refused.stderr
