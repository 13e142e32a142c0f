"""Built-in identity adapters: a static list of people, a directory file."""
