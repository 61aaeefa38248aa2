"""Speaking your choices: speech input and the Whisper transcriber."""
