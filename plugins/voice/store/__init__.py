"""Where a line's audio is kept and what names it: the audio cache, voice packs (manifest and reader),
and the key of a line. The pipeline, the quality gate, the renderer and the tools all use it; it
uses only the core (and the engines' protocol, for a line's key)."""
