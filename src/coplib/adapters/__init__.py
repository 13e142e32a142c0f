"""Built-in plugins that connect coplib to the outside world: storage, notification, identity."""
