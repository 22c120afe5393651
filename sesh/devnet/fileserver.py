"""The devnet's file server: one `sesh fileserver run` process on loopback (the nodes'
`allow_private_servers` lets them relay to it), its data and log in `<root>/fileserver/`."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sesh.devnet.chain import free_port
from sesh.devnet.processes import spawn_sesh, stop_process, wait_until


@dataclass
class FileServerProcess:
    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def x25519_hex(self) -> str:
        return json.loads((self.data_dir / "server.json").read_text())["x25519_pubkey"]

    def start(self, timeout: float = 30.0) -> FileServerProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        (self.data_dir / "server.json").unlink(missing_ok=True)
        self.process = spawn_sesh(
            ["fileserver", "run", "--data-dir", str(self.data_dir),
             "--listen", f"127.0.0.1:{self.port}"],
            self.directory / "fileserver.log",
        )  # fmt: skip
        wait_until(
            lambda: (self.data_dir / "server.json").exists() and self._listening(),
            timeout,
            "the file server to listen",
        )
        return self

    def _listening(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> int | None:
        return stop_process(self.process)
