"""Who speaks with which voice: the cast, reference WAVs (checked, seeded by Piper, watched), profile checks."""
