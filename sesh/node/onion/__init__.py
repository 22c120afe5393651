"""Onion routing: peeling a layer, relaying to the next hop, serving the target's request."""
