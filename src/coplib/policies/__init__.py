"""Policies: plugins that turn committed events (and, later, the passage of time) into
messages and commands."""
