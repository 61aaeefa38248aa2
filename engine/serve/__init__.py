"""`engine serve`: the story in a browser, one game per tab, each played by the engine's Driver (every hook
fires, as in the terminal) and voiced by whichever plugin returns a LineSound for its lines (the voice
plugin). game.py is one game's front end, players.py keeps games and saves per player, app.py is the HTTP API
and page, command.py the CLI. docs/serve.md describes the protocol."""
