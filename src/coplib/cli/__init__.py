"""The `coplib` command line."""
