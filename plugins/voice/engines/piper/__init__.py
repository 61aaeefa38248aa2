"""Piper: local neural TTS on the CPU, and the Piper styles of voices/piper_voices.toml."""
