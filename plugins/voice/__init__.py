"""The voice plugin: every line spoken, each character in its own voice."""

import os

# OpenMP threads (torch's for XTTS and the quality gate, CTranslate2's for Whisper) wait for work without
# spinning: the engines share the cores during play, and a spinning thread takes them from the others
# (bench/contention.py: XTTS beside Kokoro and Piper on 2 cores, 10.7 -> 1.35 times slower than speech; alone
# it pays for its threads' wake-up: 0.72 -> 0.97).
# Read once, when an OpenMP runtime loads: set before any engine imports torch; a player's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
