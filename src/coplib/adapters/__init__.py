"""Built-in adapters: storage, notification and identity, each an ordinary plugin."""
