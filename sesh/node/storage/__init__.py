"""Message storage: the storage RPC, the SQLite message store, node-to-node requests, and
replication, catch-up and hand-off within the swarm."""
