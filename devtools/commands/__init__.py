"""Subcommands of `triggers`. Each module here defines `register(commands)`; cli.py finds them."""
