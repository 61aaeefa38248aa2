"""Remote XTTS: the bridge server and the xtts-remote client, one wire protocol."""
