"""A file server compatible with Session's: encrypted attachments uploaded, downloaded and
kept for a while, reached by clients only through onion requests (`POST /oxen/v4/lsrpc`).
`store.py` keeps the files (SQLite index, one file on disk each), `server.py` serves them.
"""
