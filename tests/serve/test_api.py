"""`engine serve`'s HTTP API with a real server: the voice hook, bad input (each a clear 4xx, never a
500, and a fuzz pass), the token off loopback, headers and cookies, bounded players, saves that outlive the
server, traces. The table of players in process: test_players.py."""

from __future__ import annotations

import io
import json
import signal
import socket
import stat
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import soundfile

from engine.serve.players import Shelf
from tests.support.common import TOMB, wait_until
from tests.support.fuzz import fuzz
from tests.support.serving import Server, players_for, served_story

ECHO = '[plugins]\ndisabled = ["voice"]\nmodules = ["echo_voice"]\n'


def echo_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n{ECHO}{extra}', encoding="utf-8")
    return path


@pytest.fixture
def echo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    running = Server(TOMB, echo_config(tmp_path), tmp_path)
    yield running
    running.stop()


def said(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "echo.jsonl").read_text().splitlines()]


def test_hook_engine_serve_started(echo: Server, tmp_path: Path) -> None:
    """The plugin builds the server's shared parts before any game, then voices each game through the per-game
    hooks: a LineSound from engine_line_delivery, streamed to the page as MP3."""
    client = echo.client()
    opened = client.post("/api/games", json={}).json()
    lines = [event for event in opened["events"] if event["kind"] == "line"]
    audio = client.get(f"/api/games/{opened['game']}/lines/{lines[0]['number']}")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    samples, rate = soundfile.read(io.BytesIO(audio.content))
    tone = 0.01 * len(lines[0]["text"])
    assert rate == 16000 and tone <= len(samples) / rate < tone + 0.2  # the MP3 of its tone (plus LAME's delay)
    records = said(tmp_path)
    assert records[0] == {"story": "The Tomb of the Sleeping Sun"}
    assert [r["say"] for r in records if "say" in r] == [line["text"] for line in lines]  # in story order
    assert any(r.get("prefetch") for r in records)
    assert client.post(f"/api/games/{opened['game']}/close").status_code == 200
    wait_until(lambda: {"close": True, "reason": "closed"} in said(tmp_path), 60, "the game's end")


def test_hook_engine_read_aloud(echo: Server, tmp_path: Path) -> None:
    client = echo.client()
    opened = client.post("/api/games", json={}).json()
    choices = [event for event in opened["events"] if event["kind"] == "choices"][0]
    assert not any(r.get("say", "").startswith("1. ") for r in said(tmp_path))  # made only when asked for
    spoken = client.get(f"/api/games/{opened['game']}/lines/{choices['sound']}")
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/mpeg"
    assert said(tmp_path)[-1] == {"say": "1. Go in now, before the light is gone 2. Make camp and wait for dawn",
                                  "speaker": "Narrator"}


def test_hook_engine_serve_stopped(echo: Server, tmp_path: Path) -> None:
    client = echo.client()
    client.post("/api/games", json={})
    assert "every game was saved" in echo.stop()
    records = said(tmp_path)
    assert records[-2:] == [{"close": True, "reason": "quit"}, {"server_closed": True}]  # games end first


def test_a_player_sees_their_own_sentence_and_the_operator_the_notices(echo: Server, tmp_path: Path) -> None:
    """PlayContext.tell_player reaches the page; notify (the operator's) reaches the server's console with its
    game, never a page."""
    opened = echo.client().post("/api/games", json={}).json()
    assert opened["notices"] == ["echo voice ready"]
    echo.stop()
    assert f"engine serve: game {opened['game'][:8]}: echo: a notice for the operator" in "".join(echo.errors)


def test_a_line_still_being_made_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    monkeypatch.setenv("ECHO_PIECES", "1")
    running = Server(TOMB, echo_config(tmp_path), tmp_path)
    try:
        client = running.client()
        opened = client.post("/api/games", json={}).json()
        first = opened["events"][1]
        with client.stream("GET", f"/api/games/{opened['game']}/lines/{first['number']}") as audio:
            assert audio.headers["transfer-encoding"] == "chunked" and audio.headers["content-type"] == "audio/mpeg"
            pieces = [piece for piece in audio.iter_raw() if piece]
        samples, rate = soundfile.read(io.BytesIO(b"".join(pieces)))
        tone = 0.01 * len(first["text"])
        assert tone <= len(samples) / rate < tone + 0.2  # sent as it came, all of it
    finally:
        running.stop()


def test_no_request_waits_for_a_voice_to_stop_and_ctrl_c_ends_the_lines_being_streamed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A voice can be slow to stop (a line half made): closing a game answers at once all the same, and
    Ctrl+C ends every line still streaming before uvicorn waits for its requests (it would cancel them,
    with a traceback on the console)."""
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    monkeypatch.setenv("ECHO_HOLD", "1")
    running = Server(TOMB, echo_config(tmp_path), tmp_path)
    try:
        client = running.client()
        closing = client.post("/api/games", json={}).json()["game"]
        assert client.post(f"/api/games/{closing}/close").status_code == 200
        wait_until(lambda: {"close": True, "reason": "closed"} in said(tmp_path), 60, "the voice to start stopping")
        assert {"closed": True} not in said(tmp_path)  # still stopping: the request did not wait for it
        (tmp_path / "echo.jsonl.release").touch()
        opened = client.post("/api/games", json={}).json()
        first = opened["events"][1]
        with client.stream("GET", f"/api/games/{opened['game']}/lines/{first['number']}") as audio:
            pieces = audio.iter_raw()
            assert next(pieces)  # its tone; the line itself goes on until its game closes
            running.process.send_signal(signal.SIGINT)
            rest = b"".join(pieces)
        assert rest  # ended whole: the encoder's last frames came
        running.process.wait(timeout=60)  # (a second Ctrl+C is uvicorn's force quit)
        assert "every game was saved" in running.stop()
        assert said(tmp_path).count({"closed": True}) == 2
    finally:
        running.stop()


def test_bad_input_gets_a_clear_4xx_never_a_500(echo: Server) -> None:
    client, other = echo.client(), echo.client()
    game = client.post("/api/games", json={}).json()["game"]
    closed = client.post("/api/games", json={}).json()["game"]
    client.post(f"/api/games/{closed}/close")
    answers = {
        "a closed game's move": client.post(f"/api/games/{closed}/choices", json={"number": 1}),
        "a closed game's audio": client.get(f"/api/games/{closed}/lines/1"),
        "unknown game": client.post("/api/games/0123456789abcdef0123456789abcdef/choices", json={"number": 1}),
        "another player's game": other.post(f"/api/games/{game}/choices", json={"number": 1}),
        "another player's audio": other.get(f"/api/games/{game}/lines/1"),
        "path in a game id": client.get("/api/games/..%2F..%2Fetc%2Fpasswd/lines/1"),
        "path in a file name": client.get("/static/..%2F..%2Fapp.py"),
        "path in a slot": client.post(f"/api/games/{game}/saves/..%2F..%2Fx"),
        "path in a loaded slot": client.post("/api/games", json={"slot": "../../../etc/passwd"}),
        "a line that is no number": client.get(f"/api/games/{game}/lines/abc"),
        "a line not reached": client.get(f"/api/games/{game}/lines/99"),
        "a choice out of range": client.post(f"/api/games/{game}/choices", json={"number": 7}),
        "a choice that is no number": client.post(f"/api/games/{game}/choices", json={"number": "two"}),
        "a body that is no JSON": client.post(f"/api/games/{game}/choices", content=b"{",
                                              headers={"content-type": "application/json"}),
        "an oversize body": client.post("/api/games", content=b"{" + b" " * 20_000 + b"}",
                                        headers={"content-type": "application/json"}),
        "a chunked body": client.post("/api/games", content=iter([b"{}"]),
                                      headers={"content-type": "application/json"}),
        "no player cookie": httpx.post(echo.base + "api/games", json={}),
        "the autosave slot": client.post(f"/api/games/{game}/saves/auto"),
        "an empty slot": client.post("/api/games", json={"slot": "3"}),
    }
    for what, answer in answers.items():
        assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text)
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and detail.endswith((".", ")")) and "Traceback" not in detail, (what, detail)
    assert answers["a choice out of range"].json()["detail"] == "Choice 7 does not exist; choose 1 to 2."
    assert answers["an oversize body"].status_code == answers["a chunked body"].status_code == 413
    assert answers["another player's game"].status_code == answers["unknown game"].status_code == 404
    assert client.post(f"/api/games/{game}/choices", json={"number": 1}).status_code == 200  # the game is unharmed


def test_off_loopback_every_request_needs_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    running = Server(TOMB, echo_config(tmp_path), tmp_path, "--host", "0.0.0.0")
    try:
        local = running.base  # the address to open on this machine; the test talks to loopback only
        token = running.url.split("?token=", 1)[1]
        assert local.startswith("http://127.0.0.1:")
        others = [entry.address for entries in psutil.net_if_addrs().values() for entry in entries
                  if entry.family == socket.AF_INET and not entry.address.startswith("127.")]
        printed: list[str] = []

        def all_printed() -> bool:
            printed.extend(running.printed())
            return len(printed) >= len(others)

        wait_until(all_printed, 30, "the addresses")
        assert [line.strip() for line in printed] == [f"On your network: {local.replace('127.0.0.1', address)}"
                                                      f"?token={token}" for address in others]  # never 0.0.0.0
        assert httpx.get(local).status_code == 401
        assert httpx.post(local + "api/games", json={}).status_code == 401
        assert httpx.get(local + "api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(local + "?token=%C3%A9").status_code == 401  # any text is compared: 401, never a 500
        assert httpx.get(local + "api/status", cookies={"token": "%E2%82%AC"}).status_code == 401
        assert httpx.get(local + "api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        with httpx.Client(base_url=local, timeout=30) as client:
            first = client.get(f"/?token={token}")
            assert first.status_code == 303 and first.headers["location"] == "./"  # right behind any proxy prefix
            assert client.get("/").status_code == 200  # the cookie it set
            assert client.post("/api/games", json={}).status_code == 200
        kept = tmp_path / "config" / "voiced-if" / "serve-token"
        assert kept.read_text() == token and stat.S_IMODE(kept.stat().st_mode) == 0o600  # for the next start, ours
    finally:
        running.stop()


def test_players_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    running = Server(TOMB, echo_config(tmp_path, "[serve]\nmax_players = 1\n"), tmp_path)
    try:
        first, second = running.client(), running.client()
        game = first.post("/api/games", json={}).json()["game"]
        full = second.post("/api/games", json={})
        assert full.status_code == 503 and "1 players, its most" in full.json()["detail"]
        first.post(f"/api/games/{game}/close")
        assert second.post("/api/games", json={}).status_code == 200
    finally:
        running.stop()


def test_the_page_cannot_be_framed_and_its_cookies_are_secure_behind_an_https_proxy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    plain = Server(TOMB, echo_config(tmp_path), tmp_path)
    try:
        page = httpx.get(plain.base, headers={"X-Forwarded-Proto": "https"})  # not believed: no trust_proxy
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert "player=" in page.headers["set-cookie"] and "secure" not in page.headers["set-cookie"].lower()
    finally:
        plain.stop()
    (tmp_path / "proxied").mkdir()
    proxied = Server(TOMB, echo_config(tmp_path / "proxied", "[serve]\ntrust_proxy = true\n"), tmp_path / "proxied")
    try:
        assert "secure" not in httpx.get(proxied.base).headers["set-cookie"].lower()  # plain HTTP
        behind = httpx.get(proxied.base, headers={"X-Forwarded-Proto": "https"})
        assert "; secure" in behind.headers["set-cookie"].lower()
    finally:
        proxied.stop()


def test_saves_outlive_the_server_and_traces_name_their_game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    config, trace = echo_config(tmp_path), tmp_path / "trace.jsonl"
    running = Server(TOMB, config, tmp_path, "--trace", str(trace))
    client = running.client()
    game = client.post("/api/games", json={}).json()["game"]
    moved = client.post(f"/api/games/{game}/choices", json={"number": 2}).json()
    client.post(f"/api/games/{game}/saves/2")
    other = running.client().post("/api/games", json={}).json()["game"]
    assert "every game was saved" in running.stop()
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {record["game"] for record in records if "game" in record} == {game, other}
    assert [r["choice"] for r in records if r.get("event") == "choice"] == [2]
    restarted = Server(TOMB, config, tmp_path)
    try:
        again = httpx.Client(base_url=restarted.base, cookies=client.cookies, timeout=30)
        assert [save["slot"] for save in again.get("/api/saves").json()["saves"]] == ["auto", "2"]
        for slot in ("auto", "2"):
            events = again.post("/api/games", json={"slot": slot}).json()["events"]
            assert events[0]["kind"] == "scene" and events[0]["resumed"] is True
            assert events[-1]["options"] == moved["events"][-1]["options"]  # the same choice as before the restart
    finally:
        restarted.stop()


def test_schemathesis_finds_no_server_errors(echo: Server, tmp_path: Path) -> None:
    """A fuzz pass over the API, as a player's browser would call it (with its player cookie, on a game that
    exists as well as on made-up ones): every answer is a 2xx or a clear 4xx, never a 5xx."""
    import schemathesis

    from engine.serve.app import build_app

    story = served_story()
    described = build_app(players_for(story, Shelf(tmp_path, story), 1), story.title, None).openapi()  # as served
    client = echo.client()
    cookie = {"Cookie": f"player={client.cookies['player']}"}
    game = client.post("/api/games", json={}).json()["game"]
    sent = [0]

    def call(case: Any) -> Any:
        sent[0] += 1
        if case.path_parameters and "game_id" in case.path_parameters and sent[0] % 2:
            case.path_parameters["game_id"] = game  # half the calls on the player's real game
        return case.call(base_url=echo.base.rstrip("/"), headers=cookie, timeout=60)

    calls, failures = fuzz(schemathesis.openapi.from_dict(described), call, 60)
    assert not failures, failures
    assert len(calls) >= 30 and len({(m, p) for m, p, _ in calls}) >= 5  # it really explored the API
