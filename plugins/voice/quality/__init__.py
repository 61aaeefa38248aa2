"""The quality gate: a take is heard again (words, length, cut-off, speaker) before it is kept."""
