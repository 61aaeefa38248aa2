"""XTTS v2: the engine, the thread that owns its model, and its latents cache."""
