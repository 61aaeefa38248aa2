"""Where sound goes: playback (one rate, one loudness, --record) and the sinks."""
