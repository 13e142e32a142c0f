"""Built-in storage adapters: in-memory, embedded SQLite, PostgreSQL."""
