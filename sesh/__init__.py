"""sesh: Session Network economics on Arbitrum — SDK, crypto, operator CLI and node bridge."""

__version__ = "0.1.0"
