"""The file server's files: an SQLite index (`files.sqlite3`: id, size, uploaded, expiry)
beside one file per upload under `files/`.

- An id is Session's content id: URL-safe base64 of BLAKE2b-264 of the bytes, salted
  `SessionFileSvr\\0\\0` (44 characters, no padding). Uploading the same bytes again keeps
  one copy and renews its expiry.
- Crash safety: the bytes go to a temporary file, are fsynced and renamed into place before
  the row is committed; at start, files without a row (a crash between the two) and
  temporary files are removed, and rows whose file is gone are dropped. An upload the
  server answered is therefore never lost by a restart.
- Expiry: `expire()` drops rows and files past their expiry (the server calls it every
  `expiry_interval`); a download of an expired file is a 404 even before that.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ID_SALT = b"SessionFileSvr\0\0"
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{44}$")
TEMP_PREFIX = ".upload-"


def file_id(data: bytes) -> str:
    digest = hashlib.blake2b(data, digest_size=33, salt=ID_SALT).digest()
    return base64.urlsafe_b64encode(digest).decode()


@dataclass(frozen=True)
class FileInfo:
    id: str
    size: int
    uploaded: float
    expires: float

    def json(self) -> dict:
        return {"size": self.size, "uploaded": self.uploaded, "expires": self.expires}


class FileStore:
    def __init__(self, directory: Path, ttl: float, clock: Callable[[], float] = time.time):
        self.directory = directory
        self.files = directory / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.ttl = ttl
        self.clock = clock
        # Uploads run in worker threads: one writer at a time, and expiry never between an
        # upload's file and its row.
        self._lock = threading.RLock()
        self.db = sqlite3.connect(directory / "files.sqlite3", check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY, size INTEGER NOT NULL,"
            " uploaded REAL NOT NULL, expiry REAL NOT NULL)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS files_expiry ON files (expiry)")
        self.db.commit()
        self.recover()

    def close(self) -> None:
        self.db.close()

    def path(self, id_: str) -> Path:
        return self.files / id_

    def recover(self) -> None:
        """Make the index and the directory agree after a crash."""
        known = {row[0] for row in self.db.execute("SELECT id FROM files")}
        for entry in self.files.iterdir():
            if entry.name.startswith(TEMP_PREFIX) or entry.name not in known:
                entry.unlink(missing_ok=True)
        present = {entry.name for entry in self.files.iterdir()}
        missing = known - present
        if missing:
            self.db.executemany("DELETE FROM files WHERE id = ?", [(m,) for m in missing])
            self.db.commit()

    def put(self, data: bytes) -> FileInfo:
        """Store `data` (blocking: call it from a thread for large files)."""
        with self._lock:
            return self._put(data)

    def _put(self, data: bytes) -> FileInfo:
        id_ = file_id(data)
        now = self.clock()
        target = self.path(id_)
        if not target.exists():
            temp = self.files / f"{TEMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}"
            with open(temp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
            directory = os.open(self.files, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        self.db.execute(
            "INSERT INTO files (id, size, uploaded, expiry) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET uploaded = excluded.uploaded,"
            " expiry = excluded.expiry",
            (id_, len(data), now, now + self.ttl),
        )
        self.db.commit()
        return FileInfo(id_, len(data), now, now + self.ttl)

    def info(self, id_: str) -> FileInfo | None:
        if not ID_PATTERN.match(id_):
            return None
        with self._lock:
            row = self.db.execute(
                "SELECT size, uploaded, expiry FROM files WHERE id = ? AND expiry > ?",
                (id_, self.clock()),
            ).fetchone()
        return None if row is None else FileInfo(id_, row[0], row[1], row[2])

    def get(self, id_: str) -> bytes | None:
        if self.info(id_) is None:
            return None
        try:
            return self.path(id_).read_bytes()
        except FileNotFoundError:
            return None

    def extend(self, id_: str) -> FileInfo | None:
        """Renew a live file's expiry to `ttl` from now."""
        with self._lock:
            found = self.info(id_)
            if found is None:
                return None
            expiry = self.clock() + self.ttl
            self.db.execute("UPDATE files SET expiry = ? WHERE id = ?", (expiry, id_))
            self.db.commit()
            return FileInfo(id_, found.size, found.uploaded, expiry)

    def expire(self) -> int:
        """Drop expired files; how many."""
        with self._lock:
            now = self.clock()
            query = "SELECT id FROM files WHERE expiry <= ?"
            expired = [r[0] for r in self.db.execute(query, (now,))]
            if expired:
                self.db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in expired])
                self.db.commit()
                for id_ in expired:
                    self.path(id_).unlink(missing_ok=True)
            return len(expired)
