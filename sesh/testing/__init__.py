"""Test support shared by the project's suites (importable without pytest)."""
