"""`engine serve`: the story in a browser, one game per tab, every line voiced by the plugin that answers
engine_serve_voices (the voice plugin). game.py plays one game, players.py keeps games and saves per
player, app.py is the HTTP API and page, command.py the CLI. docs/serve.md describes the protocol."""
