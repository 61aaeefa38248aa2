"""A bug in any thread, or in the command itself: the log gets the traceback, the player one sentence."""

from __future__ import annotations

from pathlib import Path

from tests.support.common import ENDINGS, TOMB, run_engine

CONFIG = '[plugins]\ndisabled = ["voice"]\nmodules = ["crash_plugin"]\n'


def test_a_bug_in_a_plugin_s_thread_is_one_notice_and_the_story_goes_on(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    state = tmp_path / "state"
    result = run_engine("play", TOMB, "--pace", "instant", "--choices", ",".join(map(str, ENDINGS["Buried Again"])),
                        "--config", config, XDG_STATE_HOME=str(state))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count("[A background task (crash-test) failed: ValueError: a bug in a plugin's thread") == 1
    assert "*** Buried Again ***" in result.stdout
    log = (state / "voiced-if" / "engine.log").read_text()
    assert "thread crash-test failed" in log and "Traceback" in log and "ValueError: a bug in a plugin's thread" in log


def test_a_bug_in_a_command_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\ndisabled = ["voice"]\nmodules = ["extra_plugin"]\n[extra]\nbroken = true\n')
    state = tmp_path / "state"
    result = run_engine("--config", config, "hello", "world", XDG_STATE_HOME=str(state))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.startswith("engine: The command failed: RuntimeError: a bug in the hello command (the log")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "RuntimeError: a bug in the hello command" in (state / "voiced-if" / "engine.log").read_text()


def test_a_thread_left_running_at_the_end_does_not_hold_or_crash_the_exit() -> None:
    """What `engine` does when XTTS is still loading as the game ends: atexit handlers run, the output is
    flushed, the exit code stands, and nothing waits for the thread or tears libraries down under it."""
    import subprocess
    import sys

    script = ("import atexit, threading, time\n"
              "atexit.register(lambda: print('atexit ran', flush=True))\n"
              "threading.Thread(target=time.sleep, args=(600,), name='xtts-model', daemon=True).start()\n"
              "from engine.crashes import exit_now\n"
              "print('the end', end='')\n"
              "exit_now(3)\n"
              "print('not reached')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 3, result.stderr
    assert result.stdout == "the endatexit ran\n" and "not reached" not in result.stdout
