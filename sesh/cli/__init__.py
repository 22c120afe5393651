"""The `sesh` command line: one module per command group, and the helpers they share."""
