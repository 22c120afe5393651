"""The chain tracker: JSON-RPC providers, the tracker, the registry it derives from the
events, and the SQLite store that keeps both crash-safe."""
