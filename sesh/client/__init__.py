"""A client of the network: 3-hop onion paths, storage requests, swarm corrections."""
