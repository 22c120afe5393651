"""Moving the running network onto the contracts: its service nodes (seeding)."""
