"""Bridges as local processes (`sesh node run` in a directory of its own): started, polled
until they serve, stopped with SIGTERM or killed. Used by the devnet and by the tests
that run networks of real node processes. Readiness is always polled, never assumed
after a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def http_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, JSON body) of a GET; the text for a body that is not JSON."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode("utf-8", "replace")


def wait_until(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    on_timeout: Callable[[], str] | None = None,
    interval: float = 0.1,
) -> Any:
    """Poll `predicate` until it returns something truthy; TimeoutError after `timeout`
    seconds, naming `what` (and what `on_timeout` adds, such as a log tail)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            value, last_error = None, exc
        if value:
            return value
        time.sleep(interval)
    extra = on_timeout() if on_timeout else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} ({last_error}){extra}")


def spawn_sesh(
    args: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """`sesh <args>` as a process of its own session (Ctrl-C in a terminal reaches the
    parent, which stops its children in order), its output appended to `log`, importing
    this repository's package."""
    return subprocess.Popen(
        [sys.executable, "-m", "sesh.cli.main", *args],
        cwd=cwd,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        start_new_session=True,
    )  # fmt: skip


def stop_process(process: subprocess.Popen | None) -> int | None:
    """SIGTERM, and the exit code (SIGKILL after 30 s); None if it never ran."""
    if process is None:
        return None
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@dataclass
class NodeProcess:
    """One bridge: its directory (holding `node.toml`), its port and its process."""

    node_id: int
    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "node.log"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, env: dict[str, str] | None = None) -> None:
        self.process = spawn_sesh(
            ["node", "run", "--config", "node.toml"], self.log, cwd=self.directory, env=env
        )

    def kill(self) -> None:
        """SIGKILL: the node vanishes mid-flight, as a crashed machine does."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM, and the exit code (SIGKILL after 30 s)."""
        return stop_process(self.process)

    def get(self, path: str, timeout: float = 3.0) -> Any:
        status, body = http_json(self.url + path, timeout=timeout)
        if status != 200:
            raise ValueError(f"node {self.node_id} {path}: HTTP {status}: {body}")
        return body

    def info(self) -> dict:
        return self.get("/info")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_serving(self, block: int, timeout: float = 120.0) -> dict:
        """Until the node is synced to `block`, knows itself and serves in a swarm."""

        def ready():
            if not self.alive:
                raise RuntimeError(f"node {self.node_id} exited:\n{self.tail()}")
            info = self.info()
            return (
                info["synced"]
                and info["synced_block"] >= block
                and info["node_id"] == self.node_id
                and info
            )

        return wait_until(
            ready, timeout, f"node {self.node_id} to serve", lambda: "\n" + self.tail()
        )

    def swarms(self) -> dict[int, list[int]]:
        """swarm id -> node ids, as this node's registry has them."""
        body = self.get("/swarms")
        return {int(s["swarm_id"]): [m["node_id"] for m in s["nodes"]] for s in body["swarms"]}
