"""One module per subcommand: wires the parts together and returns an exit code."""
