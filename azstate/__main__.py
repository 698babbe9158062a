from azstate.cli import entry

entry()
