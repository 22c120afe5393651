"""The devnet: a local chain, the suite, service-node processes, and the story through them."""
