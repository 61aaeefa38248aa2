"""One engine per module; each only turns text into audio chunks."""
