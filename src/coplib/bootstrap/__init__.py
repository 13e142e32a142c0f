"""Opening an engine: plugin loading and the wiring of store, clock, ids and policies."""
