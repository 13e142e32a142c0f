"""pytest plugin (opt-in fixtures); filled in by the storage issue."""
