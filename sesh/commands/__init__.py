"""Sub-command groups of the `sesh` CLI, one module each, registered on `sesh.cli.main`."""
