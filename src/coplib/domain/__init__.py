"""The domain of communities of practice: pure values, events and rules, no I/O."""
