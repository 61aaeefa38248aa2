# The README's two commands: `make play` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian/Ubuntu libraries: ALSA headers to build simpleaudio; for the tests, PortAudio
# (sounddevice), FFmpeg's libraries (torchcodec, used by coqui-tts for XTTS) and chromium (the
# browser the `engine serve` tests drive headless). The tests compile ink sources with inkjs's compiler
# and check the served page with axe-core (both npm), kept inside the venv.
PLAY_DEBS := libasound2-dev
TEST_DEBS := libasound2-dev libportaudio2 ffmpeg chromium
EXTRAS    := test,sounddevice,xtts,bridge,serve,kokoro,stt,render,quality,script
INKJS     := inkjs@2.4.0
AXE       := axe-core@4.14.1

STORY     ?= stories/tomb

.PHONY: play serve test lint bench ink system-deps

play: $(VENV)/.play
	$(BIN)/engine play $(STORY)

# The story in a browser at http://127.0.0.1:8000/ (Ctrl+C stops it).
serve: $(VENV)/.serve
	$(BIN)/engine serve $(STORY)

# Compiles the bundled ink story's source again (what Inky's File > Export to JSON does).
ink: $(VENV)/.inkjs
	$(VENV)/inkjs/node_modules/.bin/inkjs-compiler stories/lighthouse/story.ink -o stories/lighthouse/story.ink.json

# Two test workers (pytest-xdist): most tests wait on child processes, sockets, models and audio played
# in real time; the browser tests share one worker (their xdist_group), one after another.
test: $(VENV)/.test $(VENV)/.inkjs $(VENV)/.axe lint
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/mypy engine plugins tests bench

bench: $(VENV)/.test
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/xtts.py
	$(BIN)/python bench/xtts_kernels.py
	$(BIN)/python bench/bridge.py
	$(BIN)/python bench/prefetch.py
	$(BIN)/python bench/ink.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/kokoro.py
	$(BIN)/python bench/speech_input.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/acting.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/soak.py

$(VENV)/.play: pyproject.toml | $(BIN)/python
	$(MAKE) --no-print-directory system-deps DEBS="$(PLAY_DEBS)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.serve: pyproject.toml | $(BIN)/python
	$(MAKE) --no-print-directory system-deps DEBS="$(PLAY_DEBS)"
	$(BIN)/pip install --quiet -e '.[serve]'
	touch $@ $(VENV)/.play

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(MAKE) --no-print-directory system-deps DEBS="$(TEST_DEBS)"
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@ $(VENV)/.play $(VENV)/.serve

$(VENV)/.axe: | $(BIN)/python
	command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory system-deps DEBS="nodejs npm"
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe $(AXE)
	touch $@

$(VENV)/.inkjs: | $(BIN)/python
	command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory system-deps DEBS="nodejs npm"
	npm install --silent --no-audit --no-fund --prefix $(VENV)/inkjs $(INKJS)
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs missing Debian packages (with sudo when not root); elsewhere, says what to install.
system-deps:
	@missing=""; for deb in $(DEBS); do dpkg -s $$deb >/dev/null 2>&1 || missing="$$missing $$deb"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    echo "Installing system packages:$$missing"; \
	    $$sudo apt-get install -y -q $$missing >/dev/null || \
	      { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q $$missing >/dev/null; }; \
	  elif ! command -v dpkg >/dev/null 2>&1; then :; \
	  else echo "Please install:$$missing"; exit 1; fi; \
	fi
