"""The engine's value types and the little every other part needs: the story model, errors,
conditions and assignments, file reading and writing, save records. It imports nothing else
of the engine, so story formats (engine.formats) sit between it and the player (loader, runner, CLI)."""
