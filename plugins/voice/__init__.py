"""The voice plugin: every line spoken, each character in its own voice."""
