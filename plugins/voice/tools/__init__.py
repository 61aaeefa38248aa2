"""Commands outside play: say, models, voices seed, bridge serve, cache."""
