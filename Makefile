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
EXTRAS    := test,sounddevice,xtts,pocket,bridge,serve,kokoro,stt,render,quality,script
INKJS     := inkjs@2.4.0
AXE       := axe-core@4.14.1

STORY     ?= stories/tomb

# Every package any extra installs, transitive ones and pip, setuptools and uv included, pinned with hashes
# (`make lock` writes it from pyproject.toml; pip checks each download against its hashes). pyproject.toml keeps
# ranges, for a library user's resolver; the lock gives every fresh machine the same versions.
LOCK      := requirements.lock
LOCKED    := $(BIN)/pip install --quiet -c $(LOCK)
# Locked beside the project's own dependencies: the installers, and `typing` (which resemblyzer asks for) below
# the release that refuses Python 3 (uv picks it otherwise; pip then finds no version to install).
TOOLS     := pip 'setuptools>=68' uv 'typing<3.10'
LATEST    := .venv-latest

.PHONY: play serve test test-latest lock lint bench ink system-deps

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

# The same suite on the newest releases pyproject.toml's ranges allow (no lock), in .venv-latest: how the next
# breaking release of a dependency is found on purpose. The lock's own test is left out (nothing is locked there).
test-latest: $(VENV)/.inkjs $(VENV)/.axe
	$(MAKE) --no-print-directory system-deps DEBS="$(TEST_DEBS)"
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip setuptools
	$(LATEST)/bin/pip install --quiet --upgrade --upgrade-strategy eager -e '.[$(EXTRAS)]'
	$(LATEST)/bin/pip freeze --exclude-editable > $(LATEST)/versions.txt
	$(LATEST)/bin/pytest -n 2 --dist loadgroup --deselect tests/test_lock.py

# Writes the lock again from pyproject.toml (run it after changing a dependency; it keeps the versions it can).
lock: | $(BIN)/python
	$(BIN)/python -m uv --version >/dev/null 2>&1 || $(LOCKED) uv
	printf '%s\n' $(TOOLS) | $(BIN)/python -m uv pip compile pyproject.toml - --all-extras --universal \
	  --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock" -o $(LOCK)
	$(BIN)/python .ci/lock.py --stamp

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

# The project itself first (editable, no dependencies, built by the locked setuptools), then what it needs,
# every version from the lock.
$(VENV)/.play: pyproject.toml $(LOCK) | $(BIN)/python
	$(MAKE) --no-print-directory system-deps DEBS="$(PLAY_DEBS)"
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(LOCKED) --no-build-isolation voiced-if
	touch $@

$(VENV)/.serve: pyproject.toml $(LOCK) | $(BIN)/python
	$(MAKE) --no-print-directory system-deps DEBS="$(PLAY_DEBS)"
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(LOCKED) --no-build-isolation 'voiced-if[serve]'
	touch $@ $(VENV)/.play

$(VENV)/.test: pyproject.toml $(LOCK) | $(BIN)/python
	$(MAKE) --no-print-directory system-deps DEBS="$(TEST_DEBS)"
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(LOCKED) --no-build-isolation 'voiced-if[$(EXTRAS)]' uv
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
	awk '/^[a-z]/ { keep = /^(pip|setuptools)==/ } keep' $(LOCK) > $(VENV)/bootstrap.txt
	$(BIN)/pip install --quiet -r $(VENV)/bootstrap.txt

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
