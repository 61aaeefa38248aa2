"""The dependency-free core: voices, line settings, audio chunks, text, errors, settings."""
