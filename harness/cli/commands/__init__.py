"""One module per ``harness`` subcommand; each exposes ``command`` (a click command or group)."""
