"""The use cases, one module per capability, and the `Engine` façade that gathers them."""
