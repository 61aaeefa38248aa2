"""The line pipeline: speaker, fallback, prefetch and the audio cache."""
