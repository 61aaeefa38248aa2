"""Voice packs: every reachable line rendered once (locally or on Ray), checked, and played without a model."""
