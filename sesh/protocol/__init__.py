"""Session's network protocol, shared by the node and the client (pure: no I/O): onion
layers, swarms, the storage RPC's requests, and accounts and nodes as the wire names them."""
