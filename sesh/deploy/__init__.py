"""Deployment: the configuration, the resumable steps, the whole suite, and the manifest
every other part reads the addresses from."""
