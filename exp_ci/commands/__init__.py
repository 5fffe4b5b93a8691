"""One module per subcommand: arguments in, a typed options record, `run(options) -> int`."""
