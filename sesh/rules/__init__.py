"""The contracts' rules and interface in plain Python (no Ape, no I/O): units, prices,
pool economics, name and Pro rules, and the event ABI the bridge reads."""
