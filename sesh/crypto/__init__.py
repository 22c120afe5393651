"""Cryptography shared by the contracts, the SDK and the node bridge."""
